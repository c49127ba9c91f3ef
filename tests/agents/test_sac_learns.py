"""SAC learns Pendulum to a return threshold on our JAX port and on gymnasium's original (fixed seeds)."""

import pytest

import envs
from agents.sac import SAC, SACConfig
from core.config import RunConfig
from core.loops.off_policy import OffPolicyLoop
from core.run import train

pytestmark = pytest.mark.optimized  # 2 trainings of 12k steps: optimised programs run the file in 55 s, not 71 s

# Small networks and a high learning rate: swings the pendulum up within 12k steps on this CPU.
PENDULUM_SAC = SACConfig(hidden=(64, 64), batch_size=128, buffer_size=20_000, learning_starts=1000,
                         actor_lr=1e-3, critic_lr=1e-3, alpha_lr=1e-3)


@pytest.mark.parametrize("env_name", ["jax:Pendulum-v1", "gym:Pendulum-v1"])
def test_sac_reaches_minus_300_on_pendulum(tmp_path, env_name):
    env = envs.make(env_name)
    run = RunConfig(env=env_name, total_steps=12_000, log_every=1000, eval_every=12_000, eval_episodes=20,
                    checkpoint_every=12_000, seed=0, progress=False)
    loop = OffPolicyLoop(SAC(PENDULUM_SAC, env.spec), env, run.log_every, run.seed)
    try:
        result = train(run, PENDULUM_SAC, loop, tmp_path / "run").summary
    finally:
        loop.close()
    assert result["mean_return"] > -300, result
