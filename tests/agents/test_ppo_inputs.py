"""PPO's input follows the observation space: a CNN for images (uint8 pixels scaled to [0, 1]), one-hot for
MultiDiscrete; both train a few updates, feed-forward and recurrent. The previous-action input is decided by
the config and the env's spec, never by the env's name."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents.encoders import observation_input
from agents.ppo import PPO, PPOConfig, make_train
from envs.protocol import JaxEnv
from envs.spaces import Box, Discrete, MultiDiscrete

TINY = PPOConfig(num_envs=4, num_steps=8, num_minibatches=2, update_epochs=1, hidden=(8,), cnn_channels=(4, 4))


@dataclasses.dataclass(frozen=True)
class BrightSide(JaxEnv):
    """A 6x6 RGB uint8 image with one lit pixel; reward 1 for naming the half (left 0, right 1) it is in."""

    max_episode_steps: int = 5
    name: str = "bright-side"

    @property
    def observation_space(self) -> Box:
        return Box.uniform(0, 255, (6, 6, 3), np.uint8)

    @property
    def action_space(self) -> Discrete:
        return Discrete(2)

    def initial_state(self, key):
        return jax.random.randint(key, (2,), 0, 6)

    def transition(self, state, action, key):
        reward = (action == (state[1] >= 3)).astype(jnp.float32)
        return jax.random.randint(key, (2,), 0, 6), reward, jnp.zeros((), bool)

    def observe(self, state, key):
        return jnp.zeros((6, 6, 3), jnp.uint8).at[state[0], state[1]].set(255)


def train_a_few_updates(env, config: PPOConfig):
    carry, (metrics, _) = jax.jit(make_train(config, env, 3 * config.num_envs * config.num_steps))(
        jax.random.PRNGKey(0))
    assert all(np.isfinite(np.asarray(value)).all() for value in jax.tree.leaves(metrics))
    return PPO(config, env.spec), carry.agent


@pytest.mark.parametrize("memory", ["none", "gru"])
def test_ppo_trains_a_cnn_on_uint8_image_observations(memory):
    config = dataclasses.replace(TINY, memory=memory, memory_size=8)
    env = BrightSide()
    agent, state = train_a_few_updates(env, config)
    assert agent.input.cnn is not None and agent.obs_dim == 2 * 2 * 4  # 6 -> 3 -> 2 pixels, 4 channels
    initial = agent.init(jax.random.PRNGKey(0)).params  # make_train's first key split differs; compare shapes
    assert jax.tree.map(jnp.shape, initial) == jax.tree.map(jnp.shape, state.params)
    assert int(state.updates) == 3 * config.num_minibatches
    kernel = state.params["cnn"]["params"]["Conv_0"]["kernel"]
    assert kernel.shape == (3, 3, 3, 4) and np.isfinite(np.asarray(kernel)).all()


def test_uint8_pixels_are_scaled_like_the_same_image_in_floats():
    pixels = jax.random.randint(jax.random.key(1), (2, 3, 6, 6, 3), 0, 256).astype(jnp.uint8)
    as_bytes = observation_input(Box.uniform(0, 255, (6, 6, 3), np.uint8), (4,))
    as_floats = observation_input(Box.uniform(0.0, 1.0, (6, 6, 3)), (4,))
    params = as_bytes.init(jax.random.key(0))
    out = as_bytes(params, pixels)
    assert out.shape == (2, 3, as_bytes.dim) and as_bytes.dim == 3 * 3 * 4
    np.testing.assert_allclose(out, as_floats(params, pixels.astype(jnp.float32) / 255.0), rtol=1e-6)


def test_ppo_trains_on_multidiscrete_observations():
    env = envs.make("pomdp:CountRecallEasy")
    assert isinstance(env.observation_space, MultiDiscrete)
    agent, state = train_a_few_updates(env, TINY)
    one_hot = sum(env.observation_space.nvec)
    assert agent.obs_dim == one_hot and "cnn" not in state.params
    # With a memory the port's spec asks for previous-action inputs: one-hot obs + one-hot action + first flag.
    recurrent = PPO(dataclasses.replace(TINY, memory="gru", memory_size=8), env.spec)
    assert recurrent.obs_dim == one_hot + env.action_space.n + 1


def test_previous_action_input_follows_the_spec_and_the_config_not_the_name():
    port = envs.make("pomdp:PositionOnlyCartPoleEasy")
    gru = dataclasses.replace(TINY, memory="gru", memory_size=8)
    assert PPO(gru, port.spec).prev_action
    assert not PPO(dataclasses.replace(gru, prev_action=False), port.spec).prev_action
    assert not PPO(TINY, port.spec).prev_action  # feed-forward
    # The same spaces under a POPGym name but without the EnvSpec's request: no previous-action input.
    renamed = dataclasses.replace(port.spec, previous_action_input=False)
    assert not PPO(gru, renamed).prev_action
    asked = dataclasses.replace(envs.make("jax:CartPole-v1").spec, previous_action_input=True)
    assert PPO(gru, asked).prev_action and PPO(gru, asked).obs_dim == 4 + 2 + 1


def test_previous_action_input_on_images_is_one_clear_error():
    spec = dataclasses.replace(BrightSide().spec, previous_action_input=True)
    with pytest.raises(ValueError, match="previous-action inputs need flat or discrete observations"):
        PPO(dataclasses.replace(TINY, memory="gru", memory_size=8), spec)
