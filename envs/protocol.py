"""The one functional environment protocol every JAX env in the suite follows.

`reset(key) -> (state, timestep)` and `step(state, action, key) -> (state, timestep)` are pure and jit-able.
A `TimeStep` keeps `terminated` (a true end: do not bootstrap) apart from `truncated` (a time limit: bootstrap
from the final observation). When an episode ends, `step` auto-resets: the returned `obs` is the first
observation of a *freshly drawn* episode and `info["final_obs"]` holds the last observation of the one that
ended (it equals `obs` on steps that did not end an episode, so shapes stay static under jit).

Subclasses implement three small methods: `initial_state`, `transition` and `observe`; the base class adds the
time limit, auto-reset and per-episode statistics (`info["episode_return"]`, `info["episode_length"]`, valid
where `terminated | truncated`). An env that reports more overrides `extra_info(state)`: its entries join
`info` at reset and at every step, computed from the state the step reached *before* any auto-reset (so they
describe the same moment as `final_obs`). Wrappers around an env are in envs/wrapper.py.
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


# The entries every env's info holds; `extra_info` may not replace them.
PROTOCOL_INFO_KEYS = frozenset({"final_obs", "episode_return", "episode_length"})


class InfoKeyError(ValueError):
    """An `extra_info` entry that would replace one of the protocol's own info entries."""


@dataclass(frozen=True)
class EnvSpec:
    """What an agent needs to know to build its networks."""

    name: str
    observation_space: Space
    action_space: Space
    max_episode_steps: int
    previous_action_input: bool = False
    """The env asks that an agent with a memory also see its previous action and a first-step flag (the
    in-context input of Lu et al. 2023); the POPGym ports do. Agents decide; the env never adds them itself."""


def tree_where(mask: jax.Array, on_true: Any, on_false: Any) -> Any:
    """Leafwise `where(mask, a, b)` over two pytrees of one structure: how auto-reset selects a fresh state."""
    return jax.tree.map(lambda a, b: jnp.where(mask, a, b), on_true, on_false)


def checked_extra_info(entries: dict[str, Any], source: str) -> dict[str, Any]:
    """`entries` as arrays, refusing any that would replace a protocol entry (`final_obs`, ...)."""
    clash = PROTOCOL_INFO_KEYS.intersection(entries)
    if clash:
        raise InfoKeyError(f"{source}.extra_info may not replace the protocol's info entries {sorted(clash)}")
    return {key: jnp.asarray(value) for key, value in entries.items()}


class JaxEnv:
    """Base class for functional JAX environments with auto-reset and a time limit."""

    observation_space: Space
    action_space: Space
    max_episode_steps: int = 1000
    name: str = "jax-env"
    previous_action_input: bool = False  # see EnvSpec.previous_action_input

    # --- what a concrete env implements -------------------------------------------------------------------
    def initial_state(self, key: jax.Array) -> Any:
        raise NotImplementedError

    def transition(self, state: Any, action: jax.Array, key: jax.Array) -> tuple[Any, jax.Array, jax.Array]:
        """One step of the underlying dynamics: `(next_state, reward, terminated)`."""
        raise NotImplementedError

    def observe(self, state: Any, key: jax.Array) -> jax.Array:
        raise NotImplementedError

    def extra_info(self, state: Any) -> dict[str, jax.Array]:
        """More `info` entries, from the state a step reached (before auto-reset) or the initial state at reset.

        The same keys with the same shapes at reset and at every step, so the timestep's structure is static
        under jit and a vmapped batch stacks. Nothing by default.
        """
        del state
        return {}

    # --- the protocol -------------------------------------------------------------------------------------
    @property
    def spec(self) -> EnvSpec:
        return EnvSpec(self.name, self.observation_space, self.action_space, self.max_episode_steps,
                       self.previous_action_input)

    def reset(self, key: jax.Array) -> tuple[EnvState, TimeStep]:
        init_key, obs_key = jax.random.split(key)
        inner = self.initial_state(init_key)
        obs = self.observe(inner, obs_key)
        state = EnvState(inner, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32))
        false = jnp.zeros((), bool)
        info = {"final_obs": obs, "episode_return": jnp.zeros(()), "episode_length": jnp.zeros((), jnp.int32),
                **checked_extra_info(self.extra_info(inner), type(self).__name__)}
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
        next_inner = tree_where(done, fresh_state.inner, inner)
        obs = jnp.where(done, fresh_step.obs, final_obs)
        next_state = EnvState(
            next_inner,
            jnp.where(done, 0, time),
            jnp.where(done, 0.0, episode_return),
        )
        info = {"final_obs": final_obs, "episode_return": episode_return, "episode_length": time,
                **checked_extra_info(self.extra_info(inner), type(self).__name__)}
        return next_state, TimeStep(obs, reward, terminated, truncated, info)
