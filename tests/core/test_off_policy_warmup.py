"""Before learning_starts the off-policy learner has not updated: its chunks say so (`updated`), so the run
driver can leave the placeholder zeros out of the log, and a budget that never reaches it gets a warning."""

import jax
import pytest

import envs
from agents.ppo import PPO, PPOConfig
from agents.sac import SAC, SACConfig
from core.loops.off_policy import OffPolicyLoop
from core.loops.on_policy import OnPolicyLoop


def sac_loop(env_name: str, learning_starts: int, chunk_steps: int = 8) -> OffPolicyLoop:
    env = envs.make(env_name)
    config = SACConfig(num_envs=2, hidden=(8,), batch_size=8, buffer_size=64, learning_starts=learning_starts)
    return OffPolicyLoop(SAC(config, env.spec), env, chunk_steps, 0)


@pytest.mark.parametrize("env_name", ["jax:Pendulum-v1", "gym:Pendulum-v1"])
def test_chunks_say_whether_the_learner_has_updated(env_name):
    loop = sac_loop(env_name, learning_starts=10)  # chunk 1 ends at step 8, before it; chunk 2 at 16, after
    try:
        carry = loop.init_carry(jax.random.PRNGKey(0))
        carry, before = loop.advance(carry)
        carry, after = loop.advance(carry)
    finally:
        loop.close()
    assert not bool(before["updated"]) and float(before["alpha"]) == 0.0, "placeholders, to be dropped"
    assert bool(after["updated"]) and float(after["alpha"]) == pytest.approx(1.0, abs=0.05)


def test_a_budget_below_learning_starts_warns_in_one_line():
    loop = sac_loop("jax:Pendulum-v1", learning_starts=100)
    [warning] = loop.warnings(96)
    assert "96" in warning and "100" in warning and "never" in warning and "\n" not in warning
    assert loop.warnings(100) == [] and loop.warnings(200) == []


def test_on_policy_loops_have_no_budget_warnings():
    env = envs.make("jax:CartPole-v1")
    loop = OnPolicyLoop(PPO(PPOConfig(num_envs=2, num_steps=8, hidden=(8,)), env.spec), env, 16, 0)
    assert loop.warnings(16) == []
