"""Brax environments behind our protocol.

Only the raw brax env is wrapped, never brax's training wrappers: their EpisodeWrapper folds the time limit into
`done` (losing the terminated/truncated split) and their AutoResetWrapper restores the *cached first* state.
Our base class adds the time limit and a freshly drawn reset instead; brax's own `done` is a true termination.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from envs.protocol import JaxEnv
from envs.spaces import Box

DEFAULT_EPISODE_LENGTH = 1000


class BraxEnv(JaxEnv):
    """`brax.envs.get_environment(name, **kwargs)` (e.g. `backend="spring"`), with actions in [-1, 1]^A."""

    def __init__(self, name: str, episode_length: int = DEFAULT_EPISODE_LENGTH, **kwargs: Any):
        from brax import envs as brax_envs  # brax is heavy to import; pay for it only when a brax env is made

        self.brax_name = name
        self.name = f"brax:{name}"
        self.max_episode_steps = int(episode_length)
        self.brax_env = brax_envs.get_environment(name, **kwargs)
        # eval_shape traces reset without running it: brax's own `observation_size` runs a full reset eagerly.
        obs = jax.eval_shape(self.brax_env.reset, jax.random.PRNGKey(0)).obs
        if not isinstance(obs, jax.ShapeDtypeStruct):
            raise TypeError(f"brax env {name!r} has dict observations; only flat array observations are supported")
        self.observation_space = Box.uniform(-np.inf, np.inf, obs.shape)
        self.action_space = Box.uniform(-1.0, 1.0, (int(self.brax_env.action_size),))

    def initial_state(self, key: jax.Array):
        return self.brax_env.reset(key)

    def transition(self, state, action: jax.Array, key: jax.Array):
        del key  # brax dynamics are deterministic
        next_state = self.brax_env.step(state, action)
        return next_state, next_state.reward, next_state.done > 0.5

    def observe(self, state, key: jax.Array) -> jax.Array:
        return jnp.asarray(state.obs, jnp.float32)

    def __repr__(self) -> str:
        return f"BraxEnv({self.brax_name!r}, episode_length={self.max_episode_steps})"
