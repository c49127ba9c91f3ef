"""A fixed train / held-out split of a replay buffer's rows, for models fitted on replay data (H2O's dynamics
classifiers) whose accuracy should be measured on rows they never train on.

Rows are split by position in blocks: of every `PERIOD` consecutive rows, the last `HELD_OUT` are held out. A
buffer fills in time order, so a block is a stretch of consecutive transitions, and a held-out row's
neighbours in time (near copies of it) are held out with it, except at the block's two edges. Until a buffer
holds a held-out row, held-out draws fall back to all written rows, so the metric always exists.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from core.replay import ReplayState

PERIOD = 1000
HELD_OUT = 100
TRAIN = PERIOD - HELD_OUT


def train_rows(size: jax.Array) -> jax.Array:
    """How many of the first `size` rows are training rows."""
    return (size // PERIOD) * TRAIN + jnp.minimum(size % PERIOD, TRAIN)


def held_out_rows(size: jax.Array) -> jax.Array:
    return size - train_rows(size)


def sample_train(state: ReplayState, key: jax.Array, batch_size: int):
    """Uniform with replacement over the written training rows."""
    k = jax.random.randint(key, (batch_size,), 0, jnp.maximum(train_rows(state.size), 1))
    rows = (k // TRAIN) * PERIOD + k % TRAIN
    return jax.tree.map(lambda buf: buf[rows], state.data)


def sample_held_out(state: ReplayState, key: jax.Array, batch_size: int):
    """Uniform with replacement over the written held-out rows (over all written rows while there are none)."""
    count = held_out_rows(state.size)
    k = jax.random.randint(key, (batch_size,), 0, jnp.maximum(jnp.where(count > 0, count, state.size), 1))
    rows = jnp.where(count > 0, (k // HELD_OUT) * PERIOD + TRAIN + k % HELD_OUT, k)
    return jax.tree.map(lambda buf: buf[rows], state.data)
