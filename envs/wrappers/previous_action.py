"""The in-context agent's input (Lu et al. 2023): observation + previous action + first-step flag.

    obs' = [one_hot_observation(obs),  previous action (one-hot if Discrete, raw if Box),  first flag]

A reset observation (including the fresh one an auto-reset returns) carries a zero action and flag 1;
`info["final_obs"]` carries the action that led to it and flag 0, so a truncation bootstraps from exactly what
the policy would have seen. The wrapper keeps no state of its own: whether an observation starts an episode is
the inner step's `done`. Agents apply it (`PPO.wrap_env`), where an env's spec asks for it
(`EnvSpec.previous_action_input`, set by the POPGym ports) or their config says so; envs never add it themselves.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from envs.protocol import JaxEnv, TimeStep
from envs.spaces import Box, Discrete, is_image, observation_size, one_hot_observation
from envs.wrapper import Wrapper


def action_size(space) -> int:
    if isinstance(space, Discrete):
        return space.n
    if isinstance(space, Box) and len(space.shape) == 1:
        return space.shape[0]
    raise ValueError(f"previous-action inputs need a Discrete or flat Box action space, got {space}")


def encode_action(space, action: jax.Array) -> jax.Array:
    if isinstance(space, Discrete):
        return jax.nn.one_hot(action, space.n, dtype=jnp.float32)
    return jnp.asarray(action, jnp.float32).reshape(space.shape)


def previous_action_observation_space(observation_space, action_space) -> Box:
    """The flat float space `[obs_size + action_size + 1]` that the wrapper hands out."""
    if is_image(observation_space):
        raise ValueError(f"previous-action inputs need flat or discrete observations, got {observation_space}")
    size = observation_size(observation_space) + action_size(action_space) + 1
    return Box.uniform(-np.inf, np.inf, (size,))


class PreviousActionObservation(Wrapper):
    """Wraps a JaxEnv: flat float observations `[obs_size + action_size + 1]` (see the module docstring)."""

    def __init__(self, env: JaxEnv):
        super().__init__(env)
        self._observation_space = previous_action_observation_space(env.observation_space, env.action_space)

    @property
    def observation_space(self) -> Box:
        return self._observation_space

    @property
    def previous_action_input(self) -> bool:
        return False  # its observations carry the previous action already

    def _input(self, obs, action_vec, first):
        flag = jnp.asarray(first, jnp.float32)[None]
        return jnp.concatenate([one_hot_observation(self.env.observation_space, obs), action_vec, flag])

    # reset and step are overridden, not `observation`: the input depends on the action and on `done`.
    def reset(self, key: jax.Array):
        state, timestep = self.env.reset(key)
        obs = self._input(timestep.obs, jnp.zeros(action_size(self.action_space)), True)
        return state, timestep.replace(obs=obs, info={**timestep.info, "final_obs": obs})

    def step(self, state, action: jax.Array, key: jax.Array):
        state, timestep = self.env.step(state, action, key)
        action_vec = encode_action(self.action_space, action)
        done = timestep.done
        obs = self._input(timestep.obs, jnp.where(done, 0.0, action_vec), done)
        final_obs = self._input(timestep.info["final_obs"], action_vec, False)
        return state, TimeStep(obs, timestep.reward, timestep.terminated, timestep.truncated,
                               {**timestep.info, "final_obs": final_obs})
