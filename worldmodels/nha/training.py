"""The full-batch training loop shared by NHA and its baselines: one jitted step over all segments, run in
compiled chunks of epochs (`lax.scan`), with a host callback between chunks for progress and logging."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import optax


@dataclass
class FitResult:
    params: Any
    losses: list[float]  # the last loss of each chunk
    epochs: int
    epochs_per_second: float  # measured over the chunks after the first (which also compiles)


def chunk_length(epochs: int, most: int = 100) -> int:
    """The largest divisor of `epochs` up to `most`, so every chunk has one length and compiles once."""
    return max(d for d in range(1, min(epochs, most) + 1) if epochs % d == 0)


def full_batch_step(loss_fn: Callable[[Any, jax.Array], jax.Array], optimizer: optax.GradientTransformation):
    """One epoch as a `lax.scan` body: `((params, opt_state, key), _) -> ((params, opt_state, key), loss)`."""

    def step(carry, _):
        params, opt_state, key = carry
        key, sub = jax.random.split(key)
        loss, grads = jax.value_and_grad(loss_fn)(params, sub)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, key), loss

    return step


def fit_full_batch(loss_fn: Callable[[Any, jax.Array], jax.Array], params: Any, optimizer: optax.GradientTransformation,
                   epochs: int, key: jax.Array, on_chunk: Callable[[int, float, Any], None] | None = None,
                   chunk: int | None = None) -> FitResult:
    """Minimise `loss_fn(params, key)` for `epochs` full-batch steps. `on_chunk(epoch, loss, params)` runs on the
    host after each chunk; an interrupt there (or between chunks) leaves the last chunk's params with the caller."""
    chunk = chunk or chunk_length(epochs)
    step = full_batch_step(loss_fn, optimizer)
    run_chunk = jax.jit(lambda carry: jax.lax.scan(step, carry, None, length=chunk))
    carry = (params, optimizer.init(params), key)
    losses, done, started, timed_from = [], 0, time.perf_counter(), None
    while done < epochs:
        carry, chunk_losses = run_chunk(carry)
        loss = float(chunk_losses[-1])
        done += chunk
        if timed_from is None:
            timed_from = (time.perf_counter(), done)
        losses.append(loss)
        if on_chunk is not None:
            on_chunk(done, loss, carry[0])
    now = time.perf_counter()
    timed_epochs = done - timed_from[1]
    rate = timed_epochs / (now - timed_from[0]) if timed_epochs else done / (now - started)
    return FitResult(carry[0], losses, done, rate)
