"""Each hook of the off-policy loop does what it says: the sampler, static data, the update ratio, the pretrain
phase (no env steps, resumed in the right phase), offline data kept out of checkpoints, the evaluation env, and
one compilation of the JAX chunk over a run."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents.sac import SAC, SACConfig
from core import replay
from core.config import RunConfig
from core.loops.off_policy import OffPolicyLoop
from core.run import train
from core.transitions import Transition
from core.validation import ConfigError
from tests.core.deterministic_envs import COUNTER_GYM_ID, CounterEnv

TINY = SACConfig(hidden=(8,), batch_size=8, buffer_size=64, learning_starts=0, num_envs=2)
PROBE_REWARD = 7.0


def probe_rows(count: int) -> Transition:
    obs = jnp.ones((count, 3))
    return Transition(obs, jnp.zeros((count, 1)), jnp.full(count, PROBE_REWARD), obs, jnp.zeros(count, bool),
                      jnp.zeros(count, bool), jnp.zeros(count, bool))


class ProbeSAC(SAC):
    """Samples from the static source "probe" only and reports the mean reward of each batch it updates on."""

    uses_static_data = True

    def sample_batch(self, buffers, state, key):
        return replay.sample(buffers.static["probe"], key, self.config.batch_size)

    def can_update(self, buffers):
        return replay.can_sample(buffers.static["probe"])

    def update(self, state, batch, key):
        state, metrics = super().update(state, batch, key)
        return state, {**metrics, "batch_reward": batch["reward"].mean()}


class PretrainingSAC(ProbeSAC):
    def pretrain_updates(self) -> int:
        return 16


def loop_of(agent_cls=SAC, config=TINY, chunk=8, static_rows=None, env=None, **kwargs) -> OffPolicyLoop:
    env = env or envs.make("jax:Pendulum-v1")
    static = {"probe": replay.from_arrays(probe_rows(static_rows))} if static_rows else None
    return OffPolicyLoop(agent_cls(config, env.spec), env, chunk, 0, static_data=static, **kwargs)


def advance(loop, chunks: int):
    carry, stats = loop.init_carry(jax.random.PRNGKey(0)), None
    for _ in range(chunks):
        carry, stats = loop.advance(carry)
    return carry, jax.device_get(stats)


def test_the_batch_a_custom_sampler_draws_is_the_batch_the_update_sees():
    carry, stats = advance(loop_of(ProbeSAC, static_rows=32), 1)
    assert float(stats["batch_reward"]) == PROBE_REWARD, "Pendulum's own rewards are negative"


@pytest.mark.parametrize("updates_per_step, train_every, expected", [(1.0, 1, 16), (2.0, 1, 32), (1.0, 2, 16),
                                                                      (0.5, 2, 8)])
def test_update_ratio_sets_the_update_count(updates_per_step, train_every, expected):
    config = dataclasses.replace(TINY, updates_per_step=updates_per_step, train_every=train_every)
    carry, _ = advance(loop_of(config=config), 2)  # 16 env steps, 8 iterations of 2 envs
    assert int(carry.env_steps) == 16 and int(carry.agent.updates) == expected


def test_an_update_ratio_that_is_not_whole_is_refused():
    with pytest.raises(ConfigError, match="whole number"):
        loop_of(config=dataclasses.replace(TINY, updates_per_step=0.3))


def test_pretrain_phase_takes_no_env_steps_then_the_loop_steps_the_env():
    loop = loop_of(PretrainingSAC, static_rows=32)
    carry = loop.init_carry(jax.random.PRNGKey(0))
    for expected_updates in (8, 16):
        carry, stats = loop.advance(carry)
        assert loop.phase == "pretrain" and int(carry.env_steps) == 0
        assert int(carry.pretrain_updates) == expected_updates == int(carry.agent.updates)
        assert float(stats["episodes"] if "episodes" in stats else 0) == 0
    carry, _ = loop.advance(carry)
    assert loop.phase == "online" and int(carry.env_steps) == 8 and int(carry.pretrain_updates) == 16


def run_config(tmp_path, name: str, **changes) -> RunConfig:
    defaults = dict(agent="sac", env="jax:Pendulum-v1", total_steps=32, log_every=8, eval_every=0, eval_episodes=1,
                    checkpoint_every=8, run_dir=str(tmp_path / name), progress=False)
    return RunConfig(**{**defaults, **changes})


def test_a_resumed_run_continues_in_the_phase_it_paused_in(tmp_path):
    whole = train(run_config(tmp_path, "whole"), TINY, loop_of(PretrainingSAC, static_rows=32), tmp_path / "whole")
    paused_run = run_config(tmp_path, "paused", stop_after=8)
    first = train(paused_run, TINY, loop_of(PretrainingSAC, static_rows=32), tmp_path / "paused")
    assert first.paused and first.step == 8
    loop = loop_of(PretrainingSAC, static_rows=32)
    resumed = train(dataclasses.replace(paused_run, stop_after=None), TINY, loop, tmp_path / "paused")
    assert resumed.step == whole.step == 32 and resumed.summary["mean_return"] == whole.summary["mean_return"]
    phases = [json.loads(line)["step"] for line in (tmp_path / "paused" / "metrics.jsonl").read_text().splitlines()]
    assert phases == [8, 16, 24, 32]
    records = [json.loads(line) for line in (tmp_path / "paused" / "metrics.jsonl").read_text().splitlines()]
    assert "episodes" not in records[1] and records[1]["batch_reward"] == PROBE_REWARD, "step 16 is pretraining"


def checkpoint_bytes(run_dir) -> int:
    return sum(f.stat().st_size for f in (run_dir / "checkpoints").rglob("*") if f.is_file())


def test_static_data_is_not_written_into_checkpoints(tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    train(run_config(tmp_path, "small", total_steps=8), TINY, loop_of(ProbeSAC, static_rows=16), small)
    train(run_config(tmp_path, "large", total_steps=8), TINY, loop_of(ProbeSAC, static_rows=200_000), large)
    # 200k rows of 3+3 floats would be ~5 MB; the two checkpoints differ by compression noise only.
    assert abs(checkpoint_bytes(large) - checkpoint_bytes(small)) < 20_000


def test_evaluation_runs_in_the_evaluation_env():
    train_env = CounterEnv(limit=5, reward_base=1.0, action_reward=0.0)
    eval_env = CounterEnv(limit=7, reward_base=1.0, action_reward=0.0)
    loop = loop_of(env=train_env, eval_env=eval_env)
    carry = loop.init_carry(jax.random.PRNGKey(0))
    np.testing.assert_array_equal(loop.evaluate(carry, 3), [7.0, 7.0, 7.0])
    host_eval = envs.make(f"gym:{COUNTER_GYM_ID}?limit=9&reward_base=1.0&action_reward=0.0")
    np.testing.assert_array_equal(loop_of(env=train_env, eval_env=host_eval).evaluate(carry, 2), [9.0, 9.0])


def test_the_jax_chunk_compiles_once_over_a_run():
    loop = loop_of()
    advance(loop, 3)
    assert loop.trace_count == 1


def test_stochastic_evaluation_is_a_run_option():
    env = CounterEnv(limit=4, reward_base=0.0, action_reward=1.0)
    deterministic = loop_of(env=env)
    stochastic = loop_of(env=env, deterministic_eval=False)
    carry = deterministic.init_carry(jax.random.PRNGKey(0))
    same = deterministic.evaluate(carry, 3)
    assert np.ptp(same) == 0, "the deterministic policy acts the same in identical episodes"
    assert np.ptp(stochastic.evaluate(carry, 3)) > 0
