"""The base class of env wrappers: a JaxEnv around another JaxEnv that changes only what it overrides.

A `Wrapper` forwards `observation_space`, `action_space`, `max_episode_steps`, `name` and
`previous_action_input` to the env inside (and so `spec`, which `JaxEnv` builds from them), and its
`reset`/`step` run the inner env's, so the inner auto-reset, `info["final_obs"]`, `episode_return` and
`episode_length` pass through untouched. A subclass overrides what it changes:

- `observation(obs, episode)`: applied to `obs` and to `info["final_obs"]` (override `observation_space` too);
- `action(action, episode)`: what the inner env receives (override `action_space` too);
- `episode_state(key)`: a per-episode state of the wrapper's own (a distractor pattern, a perturbation), drawn
  at reset and drawn afresh wherever the inner env's episode ends, as auto-reset does; `final_obs` is observed
  with the episode that ended, `obs` with the new one. Without it the wrapper's state is the inner env's state
  itself, unchanged;
- `extra_info(episode)`: more `info` entries, from the episode state the step ended in;
- `reset`/`step` themselves, for wrappers that step differently (envs/wrappers/action_repeat.py) or keep
  episodes of their own (envs/pomdp/meta.py); `tree_where` (envs/protocol.py) selects a fresh state where an
  episode ended.

Everything stays a pure function of its arguments, so wrapped envs jit and vmap like any JaxEnv.
"""

from __future__ import annotations

from typing import Any

import jax
from flax import struct

from envs.protocol import JaxEnv, TimeStep, checked_extra_info, tree_where
from envs.spaces import Space


@struct.dataclass
class WrapperState:
    """The state of a wrapper that has an `episode_state`: the inner env's state and the wrapper's own."""

    inner: Any
    episode: Any


class NotAJaxEnvError(ValueError):
    """A wrapper given something that is not a JaxEnv (e.g. a host gymnasium env)."""


class Wrapper(JaxEnv):
    """A JaxEnv around `env`; see the module docstring for what a subclass overrides."""

    def __init__(self, env: JaxEnv):
        if not isinstance(env, JaxEnv):
            raise NotAJaxEnvError(f"{type(self).__name__} wraps a JaxEnv, got {type(env).__name__}")
        self.env = env

    # --- forwarded to the inner env ---------------------------------------------------------------------------
    @property
    def observation_space(self) -> Space:
        return self.env.observation_space

    @property
    def action_space(self) -> Space:
        return self.env.action_space

    @property
    def max_episode_steps(self) -> int:
        return self.env.max_episode_steps

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def previous_action_input(self) -> bool:
        return self.env.previous_action_input

    # --- what a subclass may override -------------------------------------------------------------------------
    def episode_state(self, key: jax.Array) -> Any:
        """The wrapper's own state for a new episode; None (the default): the wrapper keeps no state."""
        del key
        return None

    def observation(self, obs: jax.Array, episode: Any) -> jax.Array:
        return obs

    def action(self, action: jax.Array, episode: Any) -> jax.Array:
        return action

    def extra_info(self, episode: Any) -> dict[str, jax.Array]:
        del episode
        return {}

    # --- the protocol -------------------------------------------------------------------------------------
    @property
    def keeps_episode_state(self) -> bool:
        return type(self).episode_state is not Wrapper.episode_state

    def reset(self, key: jax.Array) -> tuple[Any, TimeStep]:
        if not self.keeps_episode_state:
            state, timestep = self.env.reset(key)
            return state, self._outgoing(timestep, None, None)
        inner_key, episode_key = jax.random.split(key)
        inner, timestep = self.env.reset(inner_key)
        episode = self.episode_state(episode_key)
        return WrapperState(inner, episode), self._outgoing(timestep, episode, episode)

    def step(self, state: Any, action: jax.Array, key: jax.Array) -> tuple[Any, TimeStep]:
        if not self.keeps_episode_state:
            state, timestep = self.env.step(state, self.action(action, None), key)
            return state, self._outgoing(timestep, None, None)
        step_key, episode_key = jax.random.split(key)
        inner, timestep = self.env.step(state.inner, self.action(action, state.episode), step_key)
        # Drawn on every step and selected where the episode ended, like the fresh state of auto-reset.
        episode = tree_where(timestep.done, self.episode_state(episode_key), state.episode)
        return WrapperState(inner, episode), self._outgoing(timestep, episode, state.episode)

    def _outgoing(self, timestep: TimeStep, episode: Any, ended_episode: Any) -> TimeStep:
        """The inner timestep as this wrapper hands it out: `obs` seen in `episode`, `final_obs` in the one that
        the step ended in (the same one on a step that ended none)."""
        info = {**timestep.info, "final_obs": self.observation(timestep.info["final_obs"], ended_episode),
                **checked_extra_info(self.extra_info(ended_episode), type(self).__name__)}
        return timestep.replace(obs=self.observation(timestep.obs, episode), info=info)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.env!r})"
