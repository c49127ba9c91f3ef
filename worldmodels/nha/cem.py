"""The cross-entropy method for model-predictive control (Rubinstein 1999; as a planner, e.g. Chua et al. 2018):
sample action sequences from a Gaussian, keep the elites by predicted return, refit the Gaussian, repeat; act on
the first action and replan. Pure and jit-able: `returns_fn` scores a batch of sequences under any model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp


@dataclass(frozen=True)
class CEMConfig:
    samples: int = 64
    iterations: int = 8
    elites: int = 5
    horizon: int = 20
    low: float = 0.0
    high: float = 1.0
    init_std: float = 0.3
    min_std: float = 0.02


def plan(config: CEMConfig, returns_fn: Callable[[jax.Array, jax.Array], jax.Array], mean: jax.Array,
         key: jax.Array) -> jax.Array:
    """The refined mean action sequence `[horizon, k]` from the warm-start `mean`. `returns_fn(actions
    [samples, horizon, k], key) -> [samples]` predicts the return of each sequence."""
    std = jnp.full_like(mean, config.init_std)

    def iteration(carry, k):
        mean, std = carry
        noise_key, model_key = jax.random.split(k)
        actions = mean + std * jax.random.normal(noise_key, (config.samples, *mean.shape))
        actions = jnp.clip(actions, config.low, config.high)
        returns = returns_fn(actions, model_key)
        elite = actions[jnp.argsort(-returns)[: config.elites]]
        return (elite.mean(0), jnp.maximum(elite.std(0), config.min_std)), returns.max()

    (mean, _), _ = jax.lax.scan(iteration, (mean, std), jax.random.split(key, config.iterations))
    return mean


def shift(mean: jax.Array, fill: float) -> jax.Array:
    """Warm start for the next step: drop the executed action, repeat `fill` at the end."""
    return jnp.concatenate([mean[1:], jnp.full_like(mean[:1], fill)])
