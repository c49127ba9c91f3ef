"""Smooth rewards in [0, 1] from the true state, in the manner of the DeepMind Control Suite (Tassa et al. 2018).

`tolerance(x, lower, upper, margin)` is 1 where `lower <= x <= upper` and falls off outside with the distance to
the interval, measured in units of `margin`: it equals `value_at_margin` one margin away. `gaussian` never
reaches 0; `quadratic` reaches 0 at `margin / sqrt(1 - value_at_margin)` and stays there.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def tolerance(x: jax.Array, lower: float, upper: float, margin: float, sigmoid: str = "gaussian",
              value_at_margin: float = 0.1) -> jax.Array:
    distance = jnp.where(x < lower, lower - x, jnp.where(x > upper, x - upper, 0.0)) / margin
    if sigmoid == "gaussian":
        scale = math.sqrt(-2.0 * math.log(value_at_margin))
        return jnp.exp(-0.5 * (distance * scale) ** 2)
    if sigmoid == "quadratic":
        scale = math.sqrt(1.0 - value_at_margin)
        return jnp.maximum(1.0 - (distance * scale) ** 2, 0.0)
    raise ValueError(f"unknown tolerance sigmoid {sigmoid!r}; known: gaussian, quadratic")


def small_control(action: jax.Array) -> jax.Array:
    """Between 0.8 (full force on every actuator) and 1 (no force): a gentle push towards small actions."""
    return (4.0 + jnp.mean(tolerance(action, 0.0, 0.0, 1.0, "quadratic", 0.0))) / 5.0
