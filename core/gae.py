"""Generalised advantage estimation (Schulman et al. 2016) as a reverse `lax.scan`, truncation-aware.

`terminated` and `done` are kept apart: a step bootstraps from `next_values` unless it *terminated*, and the
advantage recursion stops at *any* episode end (`done = terminated | truncated`). `next_values[t]` is the value
of the observation that followed step t in the same episode, i.e. of `info["final_obs"]`, so a time-limit
truncation bootstraps from the final observation rather than from the first observation of the next episode.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    done: jax.Array,
    gamma: float,
    lam: float,
) -> tuple[jax.Array, jax.Array]:
    """Advantages and value targets, both `[T, B]`, from `[T, B]` inputs (time first)."""
    not_terminal = 1.0 - terminated.astype(jnp.float32)
    continues = 1.0 - done.astype(jnp.float32)
    deltas = rewards + gamma * not_terminal * next_values - values

    def backwards(next_advantage, step):
        delta, cont = step
        advantage = delta + gamma * lam * cont * next_advantage
        return advantage, advantage

    _, advantages = jax.lax.scan(backwards, jnp.zeros_like(deltas[0]), (deltas, continues), reverse=True)
    return advantages, advantages + values
