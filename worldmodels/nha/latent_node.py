"""Baseline: a latent-augmented neural ODE. An encoder of the segment's first samples gives a Gaussian over extra
state dimensions, sampled by reparameterisation (Kingma and Welling 2014) and penalised by a small KL term; one
linear field evolves the state and the latent together. The latent can stand in for the mode, but continuously."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from worldmodels.nha.encoder import ModeEncoder
from worldmodels.nha.rk4 import masked_mse, rk4_solve
from worldmodels.nha.segments import Segments, encoder_inputs


@dataclass(frozen=True)
class LatentNODEConfig:
    latent: int = 2
    encoder_samples: int = 5
    encoder_hidden: tuple[int, ...] = (64, 64, 64)
    beta: float = 1e-3
    encoder_lr: float = 3e-4
    flow_lr: float = 1e-2

    def encoder(self) -> ModeEncoder:
        return ModeEncoder(2 * self.latent, self.encoder_hidden, dropout=0.0)


def init_params(config: LatentNODEConfig, key: jax.Array, dim: int, controls: int = 0) -> dict:
    state = dim + config.latent
    inputs = jnp.zeros((1, config.encoder_samples * dim))
    return {"encoder": config.encoder().init(key, inputs)["params"],
            "flows": {"A": jnp.zeros((state, state + controls)), "b": jnp.zeros(state)}}


def optimizer(config: LatentNODEConfig) -> optax.GradientTransformation:
    return optax.multi_transform({"encoder": optax.adamw(config.encoder_lr), "flows": optax.adamw(config.flow_lr)},
                                 {"encoder": "encoder", "flows": "flows"})


def _solve(params: dict, segments: Segments, latent: jax.Array) -> jax.Array:
    def f(z, u):
        inputs = z if u is None or u.shape[-1] == 0 else jnp.concatenate([z, u])
        return params["flows"]["A"] @ inputs + params["flows"]["b"]

    z0 = jnp.concatenate([segments.z[:, 0], latent], -1)
    solve = lambda z, dts, us: rk4_solve(f, z, dts, us)
    return jax.vmap(solve)(z0, segments.dt, segments.u)[..., : segments.z.shape[-1]]


def _posterior(config: LatentNODEConfig, params: dict, inputs: jax.Array):
    out = config.encoder().apply({"params": params["encoder"]}, inputs)
    mean, log_std = jnp.split(out, 2, axis=-1)
    return mean, jnp.clip(log_std, -5.0, 2.0)


def predict(config: LatentNODEConfig, params: dict, segments: Segments) -> jax.Array:
    """[S, L, n] with the posterior mean as the latent."""
    segs = jax.tree.map(jnp.asarray, segments)
    mean, _ = _posterior(config, params, jnp.asarray(encoder_inputs(segments, config.encoder_samples)))
    return _solve(params, segs, mean)


def loss_fn(config: LatentNODEConfig, segments: Segments):
    segs = jax.tree.map(jnp.asarray, segments)
    inputs = jnp.asarray(encoder_inputs(segments, config.encoder_samples))

    def loss(params, key):
        mean, log_std = _posterior(config, params, inputs)
        latent = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)
        kl = 0.5 * jnp.mean(jnp.sum(mean**2 + jnp.exp(2 * log_std) - 1.0 - 2 * log_std, axis=-1))
        return masked_mse(_solve(params, segs, latent), segs.z, segs.mask) + config.beta * kl

    return loss
