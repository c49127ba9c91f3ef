"""The one functional environment protocol every JAX env in the suite follows.

`reset(key) -> (state, timestep)` and `step(state, action, key) -> (state, timestep)` are pure and jit-able.
A `TimeStep` keeps `terminated` (a true end: do not bootstrap) apart from `truncated` (a time limit: bootstrap
from the final observation). When an episode ends, `step` auto-resets: the returned `obs` is the first
observation of a *freshly drawn* episode and `info["final_obs"]` holds the last observation of the one that
ended (it equals `obs` on steps that did not end an episode, so shapes stay static under jit).

Subclasses implement three small methods: `initial_state`, `transition` and `observe`; the base class adds the
time limit, auto-reset and per-episode statistics (`info["episode_return"]`, `info["episode_length"]`, valid
where `terminated | truncated`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from envs.spaces import Space


@struct.dataclass
class TimeStep:
    obs: jax.Array
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: dict[str, Any]

    @property
    def done(self) -> jax.Array:
        """End of an episode for any reason: the signal for resetting recurrent state, never for bootstrapping."""
        return jnp.logical_or(self.terminated, self.truncated)


@struct.dataclass
class EnvState:
    inner: Any
    time: jax.Array
    episode_return: jax.Array


@dataclass(frozen=True)
class EnvSpec:
    """What an agent needs to know to build its networks."""

    name: str
    observation_space: Space
    action_space: Space
    max_episode_steps: int


class JaxEnv:
    """Base class for functional JAX environments with auto-reset and a time limit."""

    observation_space: Space
    action_space: Space
    max_episode_steps: int = 1000
    name: str = "jax-env"

    # --- what a concrete env implements -------------------------------------------------------------------
    def initial_state(self, key: jax.Array) -> Any:
        raise NotImplementedError

    def transition(self, state: Any, action: jax.Array, key: jax.Array) -> tuple[Any, jax.Array, jax.Array]:
        """One step of the underlying dynamics: `(next_state, reward, terminated)`."""
        raise NotImplementedError

    def observe(self, state: Any, key: jax.Array) -> jax.Array:
        raise NotImplementedError

    # --- the protocol -------------------------------------------------------------------------------------
    @property
    def spec(self) -> EnvSpec:
        return EnvSpec(self.name, self.observation_space, self.action_space, self.max_episode_steps)

    def reset(self, key: jax.Array) -> tuple[EnvState, TimeStep]:
        init_key, obs_key = jax.random.split(key)
        inner = self.initial_state(init_key)
        obs = self.observe(inner, obs_key)
        state = EnvState(inner, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32))
        false = jnp.zeros((), bool)
        info = {"final_obs": obs, "episode_return": jnp.zeros(()), "episode_length": jnp.zeros((), jnp.int32)}
        return state, TimeStep(obs, jnp.zeros((), jnp.float32), false, false, info)

    def step(self, state: EnvState, action: jax.Array, key: jax.Array) -> tuple[EnvState, TimeStep]:
        step_key, obs_key, reset_key = jax.random.split(key, 3)
        inner, reward, terminated = self.transition(state.inner, action, step_key)
        reward = jnp.asarray(reward, jnp.float32)
        terminated = jnp.asarray(terminated, bool)
        time = state.time + 1
        truncated = jnp.logical_and(time >= self.max_episode_steps, jnp.logical_not(terminated))
        final_obs = self.observe(inner, obs_key)
        episode_return = state.episode_return + reward
        done = jnp.logical_or(terminated, truncated)

        # A fresh initial state is drawn on every step and selected where the episode ended; under vmap a
        # `cond` would run both branches anyway.
        fresh_state, fresh_step = self.reset(reset_key)
        next_inner = jax.tree.map(lambda f, c: jnp.where(done, f, c), fresh_state.inner, inner)
        obs = jnp.where(done, fresh_step.obs, final_obs)
        next_state = EnvState(
            next_inner,
            jnp.where(done, 0, time),
            jnp.where(done, 0.0, episode_return),
        )
        info = {"final_obs": final_obs, "episode_return": episode_return, "episode_length": time}
        return next_state, TimeStep(obs, reward, terminated, truncated, info)
