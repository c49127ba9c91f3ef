"""Fixed-step RK4 on a given time grid: one step per grid interval, as the data are sampled. Segments are solved
in parallel by `vmap`; a zero time step (padding) leaves the state unchanged."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def rk4_step(field: Callable, z: jax.Array, dt: jax.Array, u: jax.Array | None = None) -> jax.Array:
    """One classic Runge-Kutta step of z' = field(z, u), the input u held over the step."""
    k1 = field(z, u)
    k2 = field(z + 0.5 * dt * k1, u)
    k3 = field(z + 0.5 * dt * k2, u)
    k4 = field(z + dt * k3, u)
    return z + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def rk4_solve(field: Callable, z0: jax.Array, dts: jax.Array, us: jax.Array | None = None) -> jax.Array:
    """States [L, n] on the grid whose steps are `dts [L - 1]`, starting at `z0 [n]` (row 0); `us [L, k]` the
    inputs at the grid points (the one at a step's start is held over it)."""
    us = jnp.zeros((dts.shape[0] + 1, 0)) if us is None else us

    def step(z, inputs):
        dt, u = inputs
        z = rk4_step(field, z, dt, u)
        return z, z

    _, zs = jax.lax.scan(step, z0, (dts, us[:-1]))
    return jnp.concatenate([z0[None], zs])


def masked_mse(prediction: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean over segments of each segment's mean squared error over its real samples and all dimensions:
    `prediction`, `target [S, L, n]`, `mask [S, L]`. Padded samples carry no weight at all."""
    weight = mask[..., None].astype(prediction.dtype)
    per_segment = jnp.sum(weight * (prediction - target) ** 2, axis=(1, 2))
    counts = jnp.maximum(jnp.sum(weight, axis=(1, 2)) * prediction.shape[-1], 1.0)
    return jnp.mean(per_segment / counts)
