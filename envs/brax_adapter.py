"""Brax environments behind our protocol.

Only the raw brax env is wrapped, never brax's training wrappers: their EpisodeWrapper folds the time limit into
`done` (losing the terminated/truncated split) and their AutoResetWrapper restores the *cached first* state.
Our base class adds the time limit and a freshly drawn reset instead; brax's own `done` is a true termination.

A physics blow-up (a step whose observation or reward is not finite: brax's solvers can diverge, e.g. an ant flung
into the air when unhealthy states do not terminate) ends the episode as a termination at the last finite state,
with reward 0, as MuJoCo Playground's envs end on NaN, so no NaN reaches a replay buffer or a learner. With
`max_abs_obs`, an observation entry beyond that magnitude counts as a blow-up too: before a solver reaches NaN
it can fling a body at thousands of m/s, and one such transition can overflow a learner's optimiser.

`system_edit(sys) -> sys` replaces the env's Brax `System` after construction, for dynamics-shifted variants:
`lambda sys: sys.tree_replace({"opt.gravity": jnp.array([0.0, 0.0, -5.0])})`, or `sys.replace(...)`. It runs
once, when the env is built; what the env's constructor derived from the system before (its frame count, for
one) stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from envs.protocol import JaxEnv, tree_where
from envs.spaces import Box

DEFAULT_EPISODE_LENGTH = 1000

SystemEdit = Callable[[Any], Any]


class SystemEditError(ValueError):
    """A `system_edit` for a brax env without a System, or one that does not return a System."""


class BraxEnv(JaxEnv):
    """`brax.envs.get_environment(name, **kwargs)` (e.g. `backend="spring"`), with actions in [-1, 1]^A;
    `system_edit`, if given, replaces the env's System once it is built (see the module docstring)."""

    def __init__(self, name: str, episode_length: int = DEFAULT_EPISODE_LENGTH,
                 system_edit: SystemEdit | None = None, max_abs_obs: float | None = None, **kwargs: Any):
        from brax import envs as brax_envs  # brax is heavy to import; pay for it only when a brax env is made

        self.brax_name = name
        self.name = f"brax:{name}"
        self.max_episode_steps = int(episode_length)
        if max_abs_obs is not None and not (isinstance(max_abs_obs, (int, float)) and max_abs_obs > 0):
            raise ValueError(f"max_abs_obs must be a positive number, got {max_abs_obs!r}")
        self.max_abs_obs = None if max_abs_obs is None else float(max_abs_obs)
        self.brax_env = brax_envs.get_environment(name, **kwargs)
        if system_edit is not None:
            apply_system_edit(self.brax_env, system_edit, name)
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
        blown_up = physics_blowup(next_state, self.max_abs_obs)
        next_state = tree_where(blown_up, state.replace(reward=jnp.zeros_like(state.reward)), next_state)
        return next_state, next_state.reward, jnp.logical_or(next_state.done > 0.5, blown_up)

    def observe(self, state, key: jax.Array) -> jax.Array:
        return jnp.asarray(state.obs, jnp.float32)

    def __repr__(self) -> str:
        return f"BraxEnv({self.brax_name!r}, episode_length={self.max_episode_steps})"


def physics_blowup(state, max_abs_obs: float | None = None) -> jax.Array:
    """Whether a brax state's observation or reward holds a NaN or an infinity (or, with `max_abs_obs`, an
    observation entry beyond that magnitude)."""
    finite = jnp.all(jnp.isfinite(state.obs)) & jnp.isfinite(state.reward)
    if max_abs_obs is not None:
        finite &= jnp.all(jnp.abs(state.obs) <= max_abs_obs)
    return jnp.logical_not(finite)


def apply_system_edit(brax_env, system_edit: SystemEdit, name: str) -> None:
    """`brax_env.sys = system_edit(brax_env.sys)`, refusing envs without a System and edits returning another type.

    Brax's pipeline envs read `self.sys` whenever they reset or step, so the replaced System is what every
    later trace of reset/step uses.
    """
    sys = getattr(brax_env, "sys", None)
    if sys is None:
        raise SystemEditError(f"system_edit needs a brax pipeline env with a System (env.sys); {name} has none")
    edited = system_edit(sys)
    if not isinstance(edited, type(sys)):
        raise SystemEditError(f"system_edit must return the edited {type(sys).__name__} of {name} "
                              f"(e.g. sys.replace(...)), got {type(edited).__name__}")
    brax_env.sys = edited
