"""The one memory-cell interface (docs/architecture.md) and helpers every cell shares.

    params    = cell.init(key, in_dim)
    carry     = cell.initialize_carry(batch_shape)
    carry, y  = cell.step(params, carry, x[B, in_dim], reset[B])        # acting, one step
    carry, ys = cell.scan(params, carry, xs[T, B, in_dim], resets[T, B])  # training, whole sequences

`reset[b] = True` means x is the first input of a new episode: the carry is replaced by the initial carry before
x is absorbed. `resets=None` in `scan` means no episode boundary inside the sequence. Outputs are `hidden_size`
wide (so cells stack). Cells are frozen dataclasses: hashable, so they can be closed over or passed as static
arguments to `jax.jit`.
"""

from __future__ import annotations

from typing import Any, Protocol

import jax
import jax.numpy as jnp

Carry = Any
Params = Any


class MemoryCell(Protocol):
    hidden_size: int

    def init(self, key: jax.Array, in_dim: int) -> Params: ...

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> Carry: ...

    def step(self, params: Params, carry: Carry, x: jax.Array, reset: jax.Array) -> tuple[Carry, jax.Array]: ...

    def scan(
        self, params: Params, carry: Carry, xs: jax.Array, resets: jax.Array | None = None
    ) -> tuple[Carry, jax.Array]: ...


def step_via_scan(cell: MemoryCell, params: Params, carry: Carry, x: jax.Array, reset: jax.Array):
    """One step as a length-1 `scan`: the acting path then *is* the training path, so they cannot drift apart."""
    carry, ys = cell.scan(params, carry, x[None], reset[None])
    return carry, ys[0]


def reset_carry(carry: Carry, initial: Carry, reset: jax.Array) -> Carry:
    """`where(reset, initial, carry)` leaf by leaf; reset `[B]` broadcasts over each leaf's trailing axes."""

    def pick(c, c0):
        mask = reset.reshape(reset.shape + (1,) * (c.ndim - reset.ndim))
        return jnp.where(mask, c0, c)

    return jax.tree.map(pick, carry, initial)
