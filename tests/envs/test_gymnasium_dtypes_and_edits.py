"""Host gymnasium envs: observations keep the space's dtype (uint8 pixels stay uint8, float64 becomes float32,
the env spec says the same), and `model_edit` edits the MuJoCo model of every env the factory builds."""

import gymnasium
import numpy as np
import pytest

import envs
from envs.gymnasium_host import ModelEditError

PIXELS_ID = "HsrlToyPixels-v0"


class ToyPixels(gymnasium.Env):
    """4x4 RGB uint8 frames whose brightness is the step count; ends after 2 steps."""

    observation_space = gymnasium.spaces.Box(0, 255, (4, 4, 3), np.uint8)
    action_space = gymnasium.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.count = 0
        return np.zeros((4, 4, 3), np.uint8), {}

    def step(self, action):
        self.count += 1
        return np.full((4, 4, 3), 100 * self.count, np.uint8), 1.0, self.count >= 2, False, {}


if PIXELS_ID not in gymnasium.registry:
    gymnasium.register(id=PIXELS_ID, entry_point=ToyPixels, max_episode_steps=10)


def test_uint8_pixels_stay_uint8_in_spec_obs_and_final_obs():
    env = envs.make(f"gym:{PIXELS_ID}")
    assert env.spec.observation_space.dtype == np.uint8 and env.spec.observation_space.shape == (4, 4, 3)
    vec = env.vector(num_envs=2, seed=0)
    assert vec.reset().obs.dtype == np.uint8
    vec.step(np.zeros(2))
    ended = vec.step(np.zeros(2))
    assert ended.terminated.all() and ended.obs.dtype == np.uint8 and ended.info["final_obs"].dtype == np.uint8
    assert np.all(ended.info["final_obs"] == 200) and np.all(ended.obs == 0)
    vec.close()


def test_float64_mujoco_observations_become_float32():
    env = envs.make("gym:InvertedPendulum-v5")
    assert env.spec.observation_space.dtype == np.float32
    with env.vector(1, seed=0) as vec:
        assert vec.reset().obs.dtype == np.float32


def heavier_gravity(model):
    model.opt.gravity[:] = [0.0, 0.0, -30.0]


def pole_angles(env, steps: int = 5) -> np.ndarray:
    with env.vector(2, seed=0) as vec:
        vec.reset()
        return np.stack([vec.step(np.zeros((2, 1))).obs[:, 1] for _ in range(steps)])


def test_model_edit_changes_every_built_env_and_the_rollout():
    plain = envs.make("gym:InvertedPendulum-v5")
    edited = envs.make("gym:InvertedPendulum-v5", model_edit=heavier_gravity)
    with edited.vector(3, seed=0) as vec:
        for env in vec._env.envs:
            np.testing.assert_array_equal(env.unwrapped.model.opt.gravity, [0.0, 0.0, -30.0])
    with plain.vector(1, seed=0) as vec:
        np.testing.assert_array_equal(vec._env.envs[0].unwrapped.model.opt.gravity, [0.0, 0.0, -9.81])
    # Same seed, same (zero) actions: the pole falls faster under the heavier gravity.
    assert np.all(np.abs(pole_angles(edited))[-1] > np.abs(pole_angles(plain))[-1])


def test_model_edit_refuses_envs_without_a_model_and_edits_that_return_one():
    with pytest.raises(ModelEditError, match="needs a MuJoCo env"):
        envs.make("gym:CartPole-v1", model_edit=heavier_gravity)
    with pytest.raises(ModelEditError, match="in place"):
        envs.make("gym:InvertedPendulum-v5", model_edit=lambda model: 1.5)
    with pytest.raises(envs.EnvNotFoundError, match="given both"):
        envs.make("gym:InvertedPendulum-v5?max_episode_steps=5", max_episode_steps=6)
