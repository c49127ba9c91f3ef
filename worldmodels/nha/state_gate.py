"""The mode-mixing study (the NHA paper's switching-system experiment): K candidate fields blended by a gate of the
state itself, z' = sum_k q_k(z) f_k(z), with no encoder. A categorical straight-through gate picks one field per
step, so each region of the plane ends up with one field; a softmax gate can blend fields and spread its mass.

Networks as in the paper's code: fields 2-32-32-32-2 (softplus, softplus, tanh), gate 2-64-64-K (SiLU, tanh);
midpoint steps on the data grid; loss L1 + 0.5 L2 on the finite differences of the trajectories; AdamW 3e-3,
decayed x0.1 every 300 epochs."""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from worldmodels.nha.encoder import gate as make_gate


@dataclass(frozen=True)
class GateConfig:
    candidates: int = 4
    gate: str = "categorical"
    lr: float = 3e-3
    decay_every: int = 300


class Candidates(nn.Module):
    count: int

    @nn.compact
    def __call__(self, z):
        fields = []
        for _ in range(self.count):
            h = nn.softplus(nn.Dense(32)(z))
            h = nn.softplus(nn.Dense(32)(h))
            h = jnp.tanh(nn.Dense(32)(h))
            fields.append(nn.Dense(z.shape[-1])(h))
        return jnp.stack(fields, -2)  # [..., K, n]


class StateGate(nn.Module):
    count: int

    @nn.compact
    def __call__(self, z):
        h = nn.silu(nn.Dense(64)(z))
        h = jnp.tanh(nn.Dense(64)(h))
        return nn.Dense(self.count)(h)


def init(config: GateConfig, key: jax.Array, dim: int) -> dict:
    k1, k2 = jax.random.split(key)
    z = jnp.zeros(dim)
    return {"fields": Candidates(config.candidates).init(k1, z)["params"],
            "gate": StateGate(config.candidates).init(k2, z)["params"]}


def logits(config: GateConfig, params: dict, z: jax.Array) -> jax.Array:
    return StateGate(config.candidates).apply({"params": params["gate"]}, z)


def gated_field(config: GateConfig, params: dict, z: jax.Array, key: jax.Array) -> jax.Array:
    q = make_gate(logits(config, params, z), key, config.gate)
    return q @ Candidates(config.candidates).apply({"params": params["fields"]}, z)


def rollout(config: GateConfig, params: dict, z0: jax.Array, dts: jax.Array, key: jax.Array) -> jax.Array:
    """[L, n] by midpoint steps; one gate sample per stage (the key is split per step)."""
    def step(z, inputs):
        dt, k = inputs
        k1, k2 = jax.random.split(k)
        mid = z + 0.5 * dt * gated_field(config, params, z, k1)
        z = z + dt * gated_field(config, params, mid, k2)
        return z, z

    _, zs = jax.lax.scan(step, z0, (dts, jax.random.split(key, dts.shape[0])))
    return jnp.concatenate([z0[None], zs])


def loss_fn(config: GateConfig, t: np.ndarray, x: np.ndarray):
    """L1 + 0.5 L2 on the finite differences of the rollouts of all trajectories `x [N, L, n]` on `t [N, L]`."""
    t, x = jnp.asarray(t, jnp.float32), jnp.asarray(x, jnp.float32)
    target = jnp.diff(x, axis=1)

    def loss(params, key):
        keys = jax.random.split(key, x.shape[0])
        pred = jax.vmap(lambda z0, ts, k: rollout(config, params, z0, jnp.diff(ts), k))(x[:, 0], t, keys)
        error = jnp.diff(pred, axis=1) - target
        return jnp.mean(jnp.abs(error)) + 0.5 * jnp.mean(error**2)

    return loss


def optimizer(config: GateConfig) -> optax.GradientTransformation:
    schedule = optax.exponential_decay(config.lr, config.decay_every, 0.1, staircase=True)
    return optax.adamw(schedule)


def gate_report(config: GateConfig, params: dict, low, high, true_region, size: int = 100) -> dict:
    """On a `size` x `size` grid of the box: v-measure of the gate's argmax against the true region, and the
    mean entropy (nats) of the gate's probabilities."""
    from worldmodels.nha.metrics import v_measure

    xs = jnp.stack(jnp.meshgrid(jnp.linspace(low[0], high[0], size), jnp.linspace(low[1], high[1], size)), -1)
    points = xs.reshape(-1, 2)
    p = jax.nn.softmax(jax.vmap(lambda z: logits(config, params, z))(points))
    entropy = -jnp.sum(p * jnp.log(jnp.maximum(p, 1e-12)), axis=-1)
    scores = v_measure(np.asarray(true_region(points)), np.asarray(jnp.argmax(p, -1)))
    return {**scores, "mean_gate_entropy": float(entropy.mean()), "regions_used": int(len(np.unique(np.asarray(
        jnp.argmax(p, -1)))))}
