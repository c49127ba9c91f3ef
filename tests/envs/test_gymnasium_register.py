"""Our JAX ports as gymnasium envs: `gymnasium.make("hsrl/<Id>")` after `import envs`."""

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs


# The checker's generic advice (unbounded velocities, torque range) is about gymnasium's own space choices,
# which the ports copy on purpose.
@pytest.mark.filterwarnings("ignore:.*(infinity|symmetric and normalized):UserWarning")
@pytest.mark.parametrize("gym_id", ["hsrl/CartPole-v1", "hsrl/Pendulum-v1"])
def test_registered_ports_pass_gymnasium_env_checker(gym_id):
    env = gymnasium.make(gym_id)
    assert isinstance(env.unwrapped, envs.JaxToGymnasium)
    check_env(env.unwrapped, skip_render_check=True)


def test_make_kwargs_reach_the_jax_env_and_the_time_limit_truncates():
    env = gymnasium.make("hsrl/Pendulum-v1", g=9.0, max_episode_steps=3)
    assert env.unwrapped.env.g == 9.0
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == (3,)
    for _ in range(3):
        obs, reward, terminated, truncated, _ = env.step(np.array([0.5], np.float32))
    assert truncated and not terminated and isinstance(reward, float)


def test_episode_end_returns_the_final_obs_and_requires_reset():
    env = envs.JaxToGymnasium(envs.CartPole())
    first, _ = env.reset(seed=7)
    np.testing.assert_array_equal(first, env.reset(seed=7)[0])  # seeding is reproducible
    for _ in range(500):
        obs, _, terminated, _, _ = env.step(1)
        if terminated:
            break
    assert terminated and (abs(obs[0]) > 2.4 or abs(obs[2]) > 0.2094)  # the terminal obs, not a reset one
    with pytest.raises(RuntimeError):
        env.step(1)


def test_host_adapter_round_trip():
    # A port seen through both adapters keeps the protocol: gym:hsrl/... behaves like a gymnasium env.
    factory = envs.make("gym:hsrl/CartPole-v1")
    assert factory.spec.max_episode_steps == 500 and factory.spec.action_space == envs.Discrete(2)
    vec = factory.vector(2, seed=0)
    assert vec.reset().obs.shape == (2, 4)
    assert vec.step(np.array([0, 1])).reward.tolist() == [1.0, 1.0]
