"""The point mass of the skill-discovery tests: `jax:PointPlane-v0` and `gymnasium.make("hsrl/PointPlane-v0")`."""

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.classic import PointPlane


def test_the_point_moves_half_its_action_and_truncates_after_50_steps():
    env = envs.make("jax:PointPlane-v0")
    assert isinstance(env, PointPlane) and env.spec.max_episode_steps == 50
    state, timestep = env.reset(jax.random.key(0))
    assert np.all(np.abs(np.asarray(timestep.obs)) <= 0.1)
    start = np.asarray(timestep.obs)
    step = jax.jit(env.step)
    for t in range(50):
        state, timestep = step(state, jnp.array([1.0, -2.0]), jax.random.key(t))  # clipped to [-1, 1]
        assert float(timestep.reward) == 0.0 and not bool(timestep.terminated)
    assert bool(timestep.truncated), "the time limit truncates; nothing terminates"
    np.testing.assert_allclose(np.asarray(timestep.info["final_obs"]), start + [25.0, -25.0], atol=1e-5)
    assert np.all(np.abs(np.asarray(timestep.obs)) <= 0.1), "auto-reset draws a fresh start near the origin"


def test_options_scale_the_observation_and_bad_ones_are_refused():
    env = envs.make("jax:PointPlane?x_scale=10&max_episode_steps=4")
    state, _ = env.reset(jax.random.key(1))
    _, timestep = env.step(state, jnp.ones(2), jax.random.key(2))
    np.testing.assert_allclose(np.asarray(timestep.obs), np.asarray(state.inner + 0.5) * [10.0, 1.0], rtol=1e-6)
    assert env.observation_space.high[0] == pytest.approx(10 * (0.1 + 0.5 * 4))
    with pytest.raises(ValueError, match="speed must be a positive number"):
        PointPlane(speed=0.0)


def test_gymnasium_make_runs_the_port():
    env = gymnasium.make("hsrl/PointPlane-v0")
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2,) and obs.dtype == np.float32
    for _ in range(50):
        obs, reward, terminated, truncated, _ = env.step(np.array([0.0, 1.0], np.float32))
    assert truncated and not terminated and reward == 0.0 and obs[1] == pytest.approx(25.0, abs=0.11)
