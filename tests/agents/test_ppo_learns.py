"""PPO learns: CartPole (feed-forward through the run driver, and with a GRU memory) and Pendulum (continuous),
to return thresholds on fixed seeds; the training chunk compiles once; bad loop settings fail clearly."""

import jax
import numpy as np
import pytest

import envs
from agents.ppo import PPO, PPOConfig, make_train
from core.config import RunConfig
from core.loops.on_policy import OnPolicyLoop, evaluate_policy
from core.run import train

pytestmark = pytest.mark.optimized  # 4 trainings: the optimised programs run the file in 58 s instead of 77 s


def train_and_evaluate(env_name: str, config: PPOConfig, total_steps: int, episodes: int = 20) -> float:
    """The pure train(key), then deterministic evaluation of its final parameters."""
    env = envs.make(env_name)
    carry, _ = jax.jit(make_train(config, env, total_steps))(jax.random.PRNGKey(0))
    agent = PPO(config, env.spec)
    returns = jax.jit(lambda p, k: evaluate_policy(agent, env, p, k, episodes))(carry.agent.params,
                                                                                  jax.random.PRNGKey(1))
    return float(np.mean(returns))


def test_ppo_reaches_475_on_jax_cartpole_through_the_run_driver(tmp_path):
    config = PPOConfig(num_envs=16, num_steps=64, lr=2e-3, anneal_lr_steps=204_800)
    env = envs.make("jax:CartPole-v1")
    run = RunConfig(agent="ppo", env="jax:CartPole-v1", total_steps=204_800, log_every=51_200,
                    eval_every=204_800, eval_episodes=20, checkpoint_every=204_800, progress=False)
    loop = OnPolicyLoop(PPO(config, env.spec), env, run.log_every, run.seed)
    result = train(run, config, loop, tmp_path / "run").summary
    assert result["mean_return"] >= 475, result
    assert loop.trace_count == 1, "the training chunk must compile once, not once per chunk"


def test_recurrent_ppo_with_a_gru_learns_jax_cartpole():
    # lr 2e-3: all of seeds 0-3 reach 500 under vmap; at 1e-3 one run in four stalled near 150 and the result
    # turned on rounding (a change of init at float precision moved seed 0 from 500 to 309).
    config = PPOConfig(memory="gru", memory_size=64, num_envs=16, num_steps=64, lr=2e-3, anneal_lr_steps=200_704)
    assert train_and_evaluate("jax:CartPole-v1", config, 200_704) >= 475


def test_ppo_learns_jax_pendulum():
    config = PPOConfig(num_envs=16, num_steps=256, lr=1e-3, gamma=0.9, update_epochs=10, num_minibatches=16,
                       ent_coef=0.0, value_clip_eps=0.0, anneal_lr_steps=102_400)
    # A random policy scores about -1200; a swung-up, balanced pendulum about -150.
    assert train_and_evaluate("jax:Pendulum-v1", config, 102_400) > -300


def test_chunk_compiles_once_and_log_every_must_fit_whole_iterations():
    env = envs.make("jax:CartPole-v1")
    agent = PPO(PPOConfig(num_envs=4, num_steps=8, hidden=(8,), num_minibatches=2, memory="gru", memory_size=8),
                env.spec)
    loop = OnPolicyLoop(agent, env, 64, 0)
    carry = loop.init_carry(jax.random.PRNGKey(0))
    for _ in range(3):
        carry, stats = loop.advance(carry)
    assert loop.trace_count == 1
    assert int(carry.env_steps) == 192 and np.isfinite(float(stats["loss"]))
    with pytest.raises(ValueError, match="multiple of num_envs \\* num_steps"):
        OnPolicyLoop(agent, env, 100, 0)
