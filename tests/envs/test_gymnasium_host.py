"""The host adapter must give gymnasium envs exactly our JAX envs' step semantics."""

import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import envs
from envs.gymnasium_host import DEFAULT_MAX_EPISODE_STEPS, GymnasiumEnv


def test_cartpole_final_obs_and_episode_statistics():
    factory = GymnasiumEnv("CartPole-v1")
    assert factory.spec.max_episode_steps == 500
    vec = factory.vector(num_envs=2, seed=0)
    timestep = vec.reset()
    assert timestep.obs.shape == (2, 4) and timestep.obs.dtype == np.float32
    rng = np.random.default_rng(0)
    returns, lengths, ended = np.zeros(2), np.zeros(2, int), np.zeros(2, bool)
    for _ in range(300):
        timestep = vec.step(rng.integers(0, 2, 2).astype(np.float32))  # float actions are cast to int
        returns += timestep.reward
        lengths += 1
        done = timestep.done
        np.testing.assert_array_equal(timestep.info["final_obs"][~done], timestep.obs[~done])
        for i in np.flatnonzero(done):
            assert timestep.terminated[i] and not timestep.truncated[i]
            final_obs, obs = timestep.info["final_obs"][i], timestep.obs[i]
            assert not np.allclose(final_obs, obs)
            assert abs(final_obs[0]) > 2.4 or abs(final_obs[2]) > 0.2094  # the terminal observation
            assert np.all(np.abs(obs) <= 0.05)  # a freshly reset one
            assert timestep.info["episode_return"][i] == pytest.approx(returns[i])
            assert timestep.info["episode_length"][i] == lengths[i]
        returns[done], lengths[done] = 0.0, 0
        ended |= done
        if ended.all():
            break
    assert ended.all()
    vec.close()


def test_same_seed_same_episodes():
    first = [GymnasiumEnv("CartPole-v1").vector(2, seed=3).reset().obs for _ in range(2)]
    np.testing.assert_array_equal(*first)


@pytest.fixture
def toy_module(monkeypatch):
    """Make the helper importable by name, and forget it first so the `module:Id` path must import it."""
    name = "toy_counter_gym_env"
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delitem(gymnasium.registry, "HsrlToyCounter-v0", raising=False)
    yield name
    sys.modules.pop(name, None)  # our import is ours to undo; the (uniquely named) registry entry may stay


def test_module_id_form_imports_the_users_package(toy_module):
    env = envs.make(f"gym:{toy_module}:HsrlToyCounter-v0?target=2")
    assert "HsrlToyCounter-v0" in gymnasium.registry
    assert not envs.is_jax_env(env)
    # No registered time limit: the adapter promises and enforces the default one.
    assert env.spec.max_episode_steps == DEFAULT_MAX_EPISODE_STEPS
    assert env.spec.observation_space.dtype == np.float32

    vec = env.vector(num_envs=1, seed=0)
    assert vec.reset().obs.dtype == np.float32
    first = vec.step(np.array([[5.0]]))  # clipped to the box: reward 1, not 5
    assert first.reward[0] == 1.0 and not first.done[0]
    second = vec.step(np.array([[-0.5]]))
    assert second.terminated[0] and not second.truncated[0]
    assert second.info["final_obs"][0, 0] == 2.0 and second.obs[0, 0] == 0.0
    assert second.info["episode_return"][0] == pytest.approx(0.5)
    assert second.info["episode_length"][0] == 2
    third = vec.step(np.array([[0.25]]))  # statistics restart with the new episode
    assert third.info["episode_return"][0] == pytest.approx(0.25) and third.info["episode_length"][0] == 1


def test_truncation_is_kept_apart_from_termination(toy_module):
    vec = envs.make(f"gym:{toy_module}:HsrlToyCounter-v0?target=10&max_episode_steps=2").vector(2, seed=0)
    vec.reset()
    vec.step(np.zeros((2, 1)))
    timestep = vec.step(np.zeros((2, 1)))
    assert timestep.truncated.all() and not timestep.terminated.any()
    np.testing.assert_array_equal(timestep.info["final_obs"][:, 0], [2.0, 2.0])
    np.testing.assert_array_equal(timestep.obs[:, 0], [0.0, 0.0])
