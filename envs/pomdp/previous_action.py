"""The in-context agent's input pipeline (Lu et al. 2023): observation + previous action + first-step flag.

    obs' = [one_hot_observation(obs),  previous action (one-hot if Discrete, raw if Box),  first flag]

A reset observation (including the fresh one an auto-reset returns) carries a zero action and flag 1;
`info["final_obs"]` carries the action that led to it and flag 0, so a truncation bootstraps from exactly what
the policy would have seen. The wrapper keeps no state of its own: whether an observation starts an episode is
the inner step's `done`. Agents apply it (it is not part of the env: `pomdp:` ports keep popgym's own spaces).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from envs.pomdp.base import observation_size, one_hot_observation
from envs.protocol import JaxEnv, TimeStep
from envs.spaces import Box, Discrete


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


@dataclass(frozen=True, eq=False)
class PreviousActionObservation(JaxEnv):
    """Wraps a JaxEnv: flat float observations `[obs_size + action_size + 1]` (see the module docstring)."""

    env: JaxEnv

    def __post_init__(self):
        size = observation_size(self.env.observation_space) + action_size(self.env.action_space) + 1
        object.__setattr__(self, "observation_space", Box.uniform(-np.inf, np.inf, (size,)))
        object.__setattr__(self, "action_space", self.env.action_space)
        object.__setattr__(self, "max_episode_steps", self.env.max_episode_steps)
        object.__setattr__(self, "name", self.env.name)

    def _input(self, obs, action_vec, first):
        flag = jnp.asarray(first, jnp.float32)[None]
        return jnp.concatenate([one_hot_observation(self.env.observation_space, obs), action_vec, flag])

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


def is_popgym_spec(spec) -> bool:
    """Whether an env spec is one of the `pomdp:` POPGym ports (by name), to which the agent adds these inputs."""
    from envs.pomdp.family import POMDP_ENVS, canonical_name

    return canonical_name(spec.name) in POMDP_ENVS
