"""Sequences in the Dreamer layout, drawn from a buffer of stored transitions: the one place where (o, a, r, o')
rows become the per-step layout of the world models.

Layout (DreamerV3, Hafner et al. 2023): a `DreamerSequence`, every field time-major `[T, B, ...]`; step t holds
- `image`   o_t, the observation at step t (kept in its stored dtype, uint8 for pixels);
- `action`  a_{t-1}, the action that led to o_t; zeros where `first`;
- `reward`  r_t, the reward received on arriving at o_t; 0 where `first`;
- `cont`    1 - terminated on arriving at o_t (0 only for the final frame of a terminated episode; a
            truncated episode's final frame keeps 1);
- `first`   whether o_t starts an episode (or the window): the world model resets its state there.

A stored transition k (obs_k, a_k, r_k, next_obs_k, terminated_k, first_k) becomes up to two steps: where
first_k, a start step (obs_k, 0, 0, 1, True); always, an arrival step (next_obs_k, a_k, r_k, 1 - terminated_k,
False). Both kept in order, an episode of n transitions is n + 1 steps, its final frame included, and the next
episode's start step follows it, so a window may cross episode boundaries. A window of L transitions yields at
least L steps (L + 1 when it begins with a `first`, which a drawn window always does); the first L are kept.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from core import replay
from core.transitions import Transition


@struct.dataclass
class DreamerSequence:
    image: jax.Array  # [T, B, *obs_shape]
    action: jax.Array  # [T, B, A] float32
    reward: jax.Array  # [T, B] float32
    cont: jax.Array  # [T, B] float32
    first: jax.Array  # [T, B] bool


def window_to_steps(window: Transition, num_actions: int | None = None) -> DreamerSequence:
    """One env's window of `L` consecutive transitions (leaves `[L, ...]`) -> `L` Dreamer steps (leaves `[L,
    ...]`). `num_actions` one-hot encodes integer actions; continuous actions pass as they are."""
    length = window.reward.shape[0]
    action = _as_vector(window.action, num_actions)
    first = window.first.astype(bool)
    ones, zeros = jnp.ones(length, jnp.float32), jnp.zeros(length, jnp.float32)
    # Slot 2k is transition k's start step (present only where first_k), slot 2k+1 its arrival step.
    start = DreamerSequence(window.obs, jnp.zeros_like(action), zeros, ones, jnp.ones(length, bool))
    arrival = DreamerSequence(window.next_obs, action, window.reward.astype(jnp.float32),
                              1.0 - window.terminated.astype(jnp.float32), jnp.zeros(length, bool))
    slots = jax.tree.map(lambda s, a: jnp.stack([s, a], axis=1).reshape((2 * length, *s.shape[1:])), start, arrival)
    present = jnp.stack([first, jnp.ones(length, bool)], axis=1).reshape(2 * length)
    order = jnp.argsort(~present, stable=True)[:length]  # present slots first, in time order
    return jax.tree.map(lambda x: x[order], slots)


def to_dreamer_layout(windows: Transition, num_actions: int | None = None) -> DreamerSequence:
    """Time-major windows `[L, B, ...]` (as `replay.sequence_sample` returns them) -> a `DreamerSequence` `[L, B]`."""
    return jax.vmap(lambda w: window_to_steps(w, num_actions), in_axes=1, out_axes=1)(windows)


def sample(state: replay.SequenceState, key: jax.Array, batch_size: int, length: int,
           num_actions: int | None = None) -> DreamerSequence:
    """`batch_size` Dreamer sequences of `length` steps from a sequence buffer of `Transition`s; the caller checks
    `replay.can_sample(state, length)` first."""
    return to_dreamer_layout(replay.sequence_sample(state, key, batch_size, length), num_actions)


def sample_env_windows(state: replay.ReplayState, key: jax.Array, batch_size: int, length: int, num_envs: int,
                       num_actions: int | None = None) -> DreamerSequence:
    """`batch_size` Dreamer sequences of `length` steps from the off-policy loop's flat replay of `Transition`s,
    which holds `num_envs` rows per step (`replay.env_window_sample`); the caller checks
    `replay.can_sample_windows(state, length, num_envs)` first."""
    windows = replay.env_window_sample(state, key, batch_size, length, num_envs)
    return to_dreamer_layout(windows, num_actions)


def _as_vector(action: jax.Array, num_actions: int | None) -> jax.Array:
    if num_actions is not None:
        return jax.nn.one_hot(action, num_actions, dtype=jnp.float32)
    action = action.astype(jnp.float32)
    return action[:, None] if action.ndim == 1 else action
