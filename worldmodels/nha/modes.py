"""Stage 2 of NHA: the mode encoder and the mode-conditioned flows, fitted together by reconstructing every
segment from its first state (RK4 on the data grid, all segments at once, padding masked out).

An optional usage term (ours, not in the paper) breaks ties the reconstruction cannot break. Where a group of
segments is reconstructed equally well by two modes, the reconstruction gives the encoder no reason to tell them
apart. Reno TCP's off segments are such a group: they sit at w = 0, where the slow-start field is zero too. A
small weight on `usage_imbalance` then sends such a group to a mode of its own, while segments whose fields differ
stay where the reconstruction puts them."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from worldmodels.nha.encoder import ModeEncoder, gate
from worldmodels.nha.flows import field, init_flows, input_mask
from worldmodels.nha.rk4 import masked_mse, rk4_solve
from worldmodels.nha.segments import Segments, encoder_inputs


@dataclass(frozen=True)
class ModeConfig:
    modes: int = 3
    flow: str = "linear"
    flow_hidden: int = 32
    flow_inputs: tuple[int, ...] | None = None
    encoder_samples: int = 5
    encoder_hidden: tuple[int, ...] = (64, 64, 64)
    dropout: float = 0.3
    gate: str = "categorical"
    encoder_lr: float = 3e-4
    flow_lr: float = 1e-2
    balance: float = 0.0  # weight of usage_imbalance in the loss; 0 is the paper's loss

    def encoder(self) -> ModeEncoder:
        return ModeEncoder(self.modes, self.encoder_hidden, self.dropout)


def init_mode_params(config: ModeConfig, key: jax.Array, dim: int, controls: int = 0) -> dict:
    enc_key, flow_key = jax.random.split(key)
    inputs = jnp.zeros((1, config.encoder_samples * dim))
    return {"encoder": config.encoder().init(enc_key, inputs)["params"],
            "flows": init_flows(flow_key, config.modes, dim, config.flow, config.flow_hidden, controls)}


def optimizer(config: ModeConfig) -> optax.GradientTransformation:
    """AdamW with the encoder's and the flows' own learning rates."""
    return optax.multi_transform({"encoder": optax.adamw(config.encoder_lr), "flows": optax.adamw(config.flow_lr)},
                                 {"encoder": "encoder", "flows": "flows"})


def solve_segments(flow_params: dict, gates: jax.Array, segments: Segments, mask: jax.Array | None) -> jax.Array:
    """[S, L, n]: each segment solved from its first state under its gate `gates [S, m]`."""
    solve = lambda q, z0, dts, us: rk4_solve(field(flow_params, q, mask), z0, dts, us)
    return jax.vmap(solve)(gates, segments.z[:, 0], segments.dt, segments.u)


def encode(config: ModeConfig, encoder_params: dict, segments: Segments, key: jax.Array | None = None,
           train: bool = False) -> jax.Array:
    """[S, m] mode logits of every segment (dropout only when `train`)."""
    inputs = jnp.asarray(encoder_inputs(segments, config.encoder_samples))
    rngs = {"dropout": key} if train else {}
    return config.encoder().apply({"params": encoder_params}, inputs, train=train, rngs=rngs)


def usage_imbalance(logits: jax.Array) -> jax.Array:
    """log m - H(mean softmax) over the segments: 0 when they use the m modes equally, log m when all use one.
    It acts on the batch's mean use only, so each segment's own gate stays free to be sharp."""
    usage = jnp.mean(jax.nn.softmax(logits), axis=0)
    return jnp.log(logits.shape[-1]) + jnp.sum(usage * jnp.log(usage + 1e-12))


def loss_fn(config: ModeConfig, segments: Segments):
    """The stage-2 loss `(params, key) -> L`: sigma-scaled (the states are normalised) masked MSE."""
    mask = input_mask(segments.z.shape[-1], config.flow_inputs)
    inputs = jnp.asarray(encoder_inputs(segments, config.encoder_samples))
    segs = jax.tree.map(jnp.asarray, segments)

    def loss(params, key):
        drop_key, gate_key = jax.random.split(key)
        logits = config.encoder().apply({"params": params["encoder"]}, inputs, train=True,
                                        rngs={"dropout": drop_key})
        gates = gate(logits, gate_key, config.gate)
        prediction = solve_segments(params["flows"], gates, segs, mask)
        return masked_mse(prediction, segs.z, segs.mask) + config.balance * usage_imbalance(logits)

    return loss
