"""The natural policy gradient step of TRPO (Schulman et al. 2015), on any parameter pytree, as pure functions.

One step from `params`: the search direction x solves F x = -g by conjugate gradient, where g is the gradient
of the surrogate loss and F the Hessian of the mean KL(pi_old || pi) at the old parameters plus `damping` times
the identity (Fisher-vector products by forward-over-reverse differentiation, never a dense matrix); the full
step x * sqrt(2 delta / x^T F x) reaches the KL bound delta of the quadratic model; then a backtracking line
search over fractions 1, 1/2, ..., 1/2^(n-1) of it, all evaluated in one vmapped call, takes the first that
improves the loss and gets at least `accept_ratio` of the improvement its linear model expects, and keeps the
old parameters if none does. Everything is jittable and vmappable (HNPG vmaps it over per-step policies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

RESIDUAL_FLOOR = 1e-10  # conjugate gradient stops improving once the squared residual is this small


@dataclass(frozen=True)
class NaturalStepSettings:
    max_kl: float = 0.01
    damping: float = 0.1
    cg_iterations: int = 10
    backtracks: int = 10
    accept_ratio: float = 0.1


def conjugate_gradient(matvec: Callable[[jax.Array], jax.Array], b: jax.Array, iterations: int) -> jax.Array:
    """x with matvec(x) ~ b for a symmetric positive definite operator, from x = 0 in `iterations` steps; steps
    after the residual vanishes change nothing (no division by zero)."""

    def one(_, state):
        x, r, p, rr = state
        ap = matvec(p)
        active = rr > RESIDUAL_FLOOR
        alpha = jnp.where(active, rr / jnp.where(active, p @ ap, 1.0), 0.0)
        x, r = x + alpha * p, r - alpha * ap
        rr_next = r @ r
        beta = jnp.where(active, rr_next / jnp.where(active, rr, 1.0), 0.0)
        return x, r, r + beta * p, jnp.where(active, rr_next, rr)

    x0 = jnp.zeros_like(b)
    return jax.lax.fori_loop(0, iterations, one, (x0, b, b, b @ b))[0]


def fisher_vector_product(kl: Callable[[jax.Array], jax.Array], flat_params: jax.Array, damping: float):
    """v -> (Hessian of `kl` at `flat_params` + damping I) v, by a jvp of the gradient. `kl(flat)` is the mean
    KL(pi_old || pi_flat) with pi_old held fixed (its value and gradient vanish at the old parameters)."""
    grad = jax.grad(kl)

    def product(v: jax.Array) -> jax.Array:
        return jax.jvp(grad, (flat_params,), (v,))[1] + damping * v

    return product


def scaled_step(direction: jax.Array, fisher_product: Callable, max_kl: float) -> jax.Array:
    """`direction` scaled so that the quadratic model of the KL, x^T F x / 2, equals `max_kl`."""
    curvature = direction @ fisher_product(direction)
    return direction * jnp.sqrt(2.0 * max_kl / jnp.maximum(curvature, 1e-12))


def line_search(loss: Callable[[jax.Array], jax.Array], flat_params: jax.Array, step: jax.Array,
                expected_improvement: jax.Array, backtracks: int, accept_ratio: float):
    """The first of params + step * 2^-k (k = 0..backtracks-1), all evaluated in one vmapped call, whose actual
    improvement of `loss` is positive and at least `accept_ratio` x the expected one (`expected_improvement` x
    2^-k); the old params if none is. -> (params, accepted, fraction taken (0 if none), actual improvement)."""
    fractions = 0.5 ** jnp.arange(backtracks, dtype=flat_params.dtype)
    candidates = flat_params[None] + fractions[:, None] * step[None]
    improvements = loss(flat_params) - jax.vmap(loss)(candidates)
    expected = expected_improvement * fractions
    good = (improvements > 0) & (expected > 0) & (improvements > accept_ratio * expected)
    first = jnp.argmax(good)
    accepted = good.any()
    return (jnp.where(accepted, candidates[first], flat_params), accepted, jnp.where(accepted, fractions[first], 0.0),
            jnp.where(accepted, improvements[first], 0.0))


def natural_gradient_step(loss: Callable[[Any], jax.Array], kl: Callable[[Any], jax.Array], params: Any,
                          settings: NaturalStepSettings = NaturalStepSettings()) -> tuple[Any, dict]:
    """One TRPO step on the pytree `params`: `loss(params)` is the surrogate to minimise, `kl(params)` the mean
    KL(pi_old || pi_params) from the policy at `params`. -> (new params, metrics)."""
    flat, unravel = ravel_pytree(params)
    flat_loss = lambda x: loss(unravel(x))
    gradient = jax.grad(flat_loss)(flat)
    fisher = fisher_vector_product(lambda x: kl(unravel(x)), flat, settings.damping)
    direction = conjugate_gradient(fisher, -gradient, settings.cg_iterations)
    step = scaled_step(direction, fisher, settings.max_kl)
    expected = -gradient @ step
    new_flat, accepted, fraction, improvement = line_search(flat_loss, flat, step, expected, settings.backtracks,
                                                            settings.accept_ratio)
    metrics = {"accepted": accepted.astype(jnp.float32), "step_fraction": fraction, "improvement": improvement,
               "expected_improvement": expected, "gradient_norm": jnp.linalg.norm(gradient)}
    return unravel(new_flat), metrics
