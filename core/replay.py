"""Device-resident replay buffers as pure functions on a state dataclass.

Three pieces, each a handful of jit-able functions:
- a flat transition buffer (`init`, `add`, `sample`), circular, for off-policy agents;
- per-env windows of a flat buffer (`env_window_sample`): a loop that adds one row per env per step keeps each
  env's transitions at a fixed stride, so consecutive steps of one env can be drawn without a second buffer;
- a sequence buffer that stores time-major trajectories `[capacity, num_envs, ...]` with episode-start flags and
  samples fixed-length windows, for recurrent agents and world models;
- a mixer that samples several buffers by ratio (offline data + online data) into one batch.

Rows are any pytree; the loops and datasets store `core.transitions.Transition`s. `can_sample` says whether a
buffer holds enough written rows for a draw: the loops check it, since a draw from too short a buffer would
return rows that were never written.

We keep our own ~100 lines rather than flashbax: its buffers pin old chex/jax versions and its item buffer would
not hold the per-env sequence layout we want; the functional shape is the same.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

PyTree = Any


@struct.dataclass
class ReplayState:
    data: PyTree  # every leaf [capacity, ...]
    position: jax.Array  # next row to write
    size: jax.Array  # rows holding data
    capacity: int = struct.field(pytree_node=False)


def init(example: PyTree, capacity: int) -> ReplayState:
    """An empty buffer whose rows look like `example` (one unbatched item)."""
    if capacity <= 0:
        raise ValueError(f"replay capacity must be positive, got {capacity}")
    data = jax.tree.map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example)
    return ReplayState(data, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32), capacity)


def add(state: ReplayState, batch: PyTree) -> ReplayState:
    """Append a batch of items (leading axis B <= capacity), overwriting the oldest rows when full."""
    return _append_rows(state, batch)


def _append_rows(state, rows_data: PyTree):
    """Write along the leading (row or time) axis of a circular buffer; shared by both buffer kinds."""
    count = jax.tree.leaves(rows_data)[0].shape[0]
    rows = (state.position + jnp.arange(count)) % state.capacity
    data = jax.tree.map(lambda buf, x: buf.at[rows].set(x.astype(buf.dtype)), state.data, rows_data)
    return state.replace(
        data=data,
        position=(state.position + count) % state.capacity,
        size=jnp.minimum(state.size + count, state.capacity),
    )


def can_sample(state: ReplayState | SequenceState, length: int = 1) -> jax.Array:
    """Whether the buffer holds `length` written steps (1 for a flat buffer: draws are with replacement), so
    that every row a draw returns was written. A traced boolean, for `lax.cond` inside jit."""
    return state.size >= length


def sample(state: ReplayState, key: jax.Array, batch_size: int) -> PyTree:
    """Uniform sample with replacement from the filled rows."""
    rows = jax.random.randint(key, (batch_size,), 0, jnp.maximum(state.size, 1))
    return jax.tree.map(lambda buf: buf[rows], state.data)


def from_arrays(data: PyTree) -> ReplayState:
    """A full buffer holding exactly `data` (leaves [N, ...]), e.g. an offline dataset."""
    n = jax.tree.leaves(data)[0].shape[0]
    data = jax.tree.map(jnp.asarray, data)
    return ReplayState(data, jnp.zeros((), jnp.int32), jnp.asarray(n, jnp.int32), n)


# --- windows of one env in a flat buffer ------------------------------------------------------------------


def can_sample_windows(state: ReplayState, length: int, num_envs: int) -> jax.Array:
    """Whether every env has `length` written steps in a flat buffer filled `num_envs` rows at a time."""
    return state.size >= length * num_envs


def env_window_sample(state: ReplayState, key: jax.Array, batch_size: int, length: int, num_envs: int) -> PyTree:
    """`batch_size` windows of `length` consecutive steps of one env each, time-major `[length, batch, ...]`, from
    a flat buffer that `add` fills `num_envs` rows at a time, one per env in env order (as the off-policy loop
    does): env e's k-th step is row (k num_envs + e) mod capacity.

    The capacity must be a multiple of `num_envs`, so the stride survives the wrap-around. Windows never straddle
    the write head, provided `can_sample_windows(state, length, num_envs)` holds (the caller checks it). The
    first step of each window is marked `first`, as in `sequence_sample`.
    """
    if state.capacity % num_envs:
        raise ValueError(f"replay capacity {state.capacity} is not a multiple of {num_envs} envs")
    time_key, env_key = jax.random.split(key)
    steps, capacity_steps = state.size // num_envs, state.capacity // num_envs
    oldest = jnp.where(state.size == state.capacity, state.position // num_envs, 0)
    offsets = jax.random.randint(time_key, (batch_size,), 0, jnp.maximum(steps - length + 1, 1))
    envs = jax.random.randint(env_key, (batch_size,), 0, num_envs)
    times = (oldest + offsets[None, :] + jnp.arange(length)[:, None]) % capacity_steps  # [length, batch]
    windows = jax.tree.map(lambda buf: buf[times * num_envs + envs[None, :]], state.data)
    return _mark_first(windows)


# --- sequences ---------------------------------------------------------------------------------------------


@struct.dataclass
class SequenceState:
    data: PyTree  # every leaf [capacity, num_envs, ...]; must include a boolean "first" entry
    position: jax.Array
    size: jax.Array
    capacity: int = struct.field(pytree_node=False)


def sequence_init(example: PyTree, capacity: int, num_envs: int) -> SequenceState:
    """An empty time-major buffer; `example` is one step of one env and must hold a `first` flag."""
    if "first" not in example:
        raise ValueError("sequence items need a 'first' flag marking episode starts")
    if capacity <= 0 or num_envs <= 0:
        raise ValueError(f"capacity and num_envs must be positive, got {capacity}, {num_envs}")
    data = jax.tree.map(lambda x: jnp.zeros((capacity, num_envs, *jnp.shape(x)), jnp.asarray(x).dtype), example)
    return SequenceState(data, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32), capacity)


def sequence_add(state: SequenceState, steps: PyTree) -> SequenceState:
    """Append a block of steps `[T, num_envs, ...]` in time order."""
    return _append_rows(state, steps)


def sequence_sample(state: SequenceState, key: jax.Array, batch_size: int, length: int) -> PyTree:
    """Sample `batch_size` windows of `length` consecutive steps, returned time-major `[length, batch, ...]`.

    Windows never straddle the write head, so every window is a real stretch of experience, provided
    `can_sample(state, length)` holds (the caller checks it: under jit the sizes are traced). The first step of
    each window is marked `first` so recurrent state starts fresh there (we store no carries).
    """
    time_key, env_key = jax.random.split(key)
    num_envs = jax.tree.leaves(state.data)[0].shape[1]
    # The oldest valid row is `position` once full, 0 before that.
    oldest = jnp.where(state.size == state.capacity, state.position, 0)
    offsets = jax.random.randint(time_key, (batch_size,), 0, jnp.maximum(state.size - length + 1, 1))
    starts = oldest + offsets
    envs = jax.random.randint(env_key, (batch_size,), 0, num_envs)
    times = (starts[None, :] + jnp.arange(length)[:, None]) % state.capacity  # [length, batch]
    windows = jax.tree.map(lambda buf: buf[times, envs[None, :]], state.data)
    return _mark_first(windows)


def _mark_first(windows: PyTree) -> PyTree:
    """Windows `[length, batch, ...]` with their first step marked `first`: recurrent state starts fresh there."""
    first = windows["first"].at[0].set(True)
    if isinstance(windows, dict):
        return {**windows, "first": first}
    return windows.replace(first=first)


# --- mixing several buffers --------------------------------------------------------------------------------


def mixed_counts(ratios: tuple[float, ...], batch_size: int) -> tuple[int, ...]:
    """Split a batch by ratios into integer counts that sum to `batch_size` (largest remainders)."""
    if any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise ValueError(f"mixing ratios must be non-negative and not all zero, got {ratios}")
    total = sum(ratios)
    exact = [batch_size * r / total for r in ratios]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(ratios)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: batch_size - sum(counts)]:
        counts[i] += 1
    return tuple(counts)


def mixed_sample(states: tuple[ReplayState, ...], ratios: tuple[float, ...], key: jax.Array, batch_size: int):
    """One batch drawn from several transition buffers in fixed proportions, concatenated in buffer order."""
    counts = mixed_counts(ratios, batch_size)
    keys = jax.random.split(key, len(states))
    parts = [sample(s, k, n) for s, k, n in zip(states, keys, counts) if n > 0]
    return jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=0), *parts)
