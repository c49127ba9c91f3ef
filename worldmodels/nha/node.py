"""Baseline: one neural ODE for all modes (Chen et al. 2018), augmented with zero-initialised extra dimensions
(Dupont et al. 2019). A single ODE cannot take two different paths from the same state, which is why it fails
where a hybrid system does (the argument for modes)."""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from worldmodels.nha.rk4 import masked_mse, rk4_solve
from worldmodels.nha.segments import Segments


@dataclass(frozen=True)
class NODEConfig:
    augment: int = 2
    hidden: tuple[int, ...] = (64, 64)
    lr: float = 1e-3


class Field(nn.Module):
    out: int
    hidden: tuple[int, ...]

    @nn.compact
    def __call__(self, z):
        for width in self.hidden:
            z = jnp.tanh(nn.Dense(width)(z))
        return nn.Dense(self.out)(z)


def _net(config: NODEConfig, dim: int, controls: int) -> Field:
    del controls
    return Field(dim + config.augment, config.hidden)


def init_params(config: NODEConfig, key: jax.Array, dim: int, controls: int = 0) -> dict:
    return _net(config, dim, controls).init(key, jnp.zeros(dim + config.augment + controls))["params"]


def optimizer(config: NODEConfig) -> optax.GradientTransformation:
    return optax.adamw(config.lr)


def predict(config: NODEConfig, params: dict, segments: Segments) -> jax.Array:
    """[S, L, n]: each segment solved from its first state (augmented by zeros)."""
    dim, controls = segments.z.shape[-1], segments.u.shape[-1]
    net = _net(config, dim, controls)

    def f(z, u):
        inputs = z if u is None or u.shape[-1] == 0 else jnp.concatenate([z, u])
        return net.apply({"params": params}, inputs)

    z0 = jnp.concatenate([segments.z[:, 0], jnp.zeros((segments.count, config.augment))], -1)
    solve = lambda z, dts, us: rk4_solve(f, z, dts, us)
    return jax.vmap(solve)(z0, segments.dt, segments.u)[..., :dim]


def loss_fn(config: NODEConfig, segments: Segments):
    segs = jax.tree.map(jnp.asarray, segments)
    return lambda params, key: masked_mse(predict(config, params, segs), segs.z, segs.mask)
