"""GRU and LSTM baselines behind the memory-cell interface (kernels/cell.py).

`scan` hoists the input projections out of the loop (one [T*B, in] x [in, k*H] matmul); only the recurrent matmul
runs per step, which is all a GRU/LSTM must do sequentially. `step` runs the very same per-step update.
Reset: `carry = where(reset, initial carry, carry)` before the update.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax import lax

from kernels import blocks
from kernels.cell import reset_carry


def _scan_projected(update, params, carry, projected, resets, initial):
    """lax.scan of `update(params, carry, projected_t)` with resets; projected [T, B..., k*H]."""
    if resets is None:
        resets = jnp.zeros(projected.shape[:-1], bool)

    def body(carry, inputs):
        proj_t, reset_t = inputs
        carry, y = update(params, reset_carry(carry, initial, reset_t), proj_t)
        return carry, y

    return lax.scan(body, carry, (projected, resets))


@dataclasses.dataclass(frozen=True)
class GRUCell:
    """GRU: r, z gates and candidate n = tanh(W_n x + b_n + r * (U_n h + b_hn)); h' = (1 - z) n + z h."""

    hidden_size: int = 64

    def init(self, key: jax.Array, in_dim: int) -> dict:
        in_key, rec_key = jax.random.split(key)
        h = self.hidden_size
        return {
            "input": blocks.dense_init(in_key, in_dim, 3 * h),
            "recurrent": {"kernel": _orthogonal_blocks(rec_key, h, 3), "bias_n": jnp.zeros((h,))},
        }

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros(tuple(batch_shape) + (self.hidden_size,))

    def step(self, params, carry, x, reset):
        carry = reset_carry(carry, jnp.zeros_like(carry), reset)
        return self._update(params, carry, blocks.dense(params["input"], x))

    def scan(self, params, carry, xs, resets=None):
        """xs [T, B..., in_dim], resets [T, B...] -> (carry [B..., H], ys [T, B..., H])."""
        projected = blocks.dense(params["input"], xs)
        return _scan_projected(self._update, params, carry, projected, resets, jnp.zeros_like(carry))

    @staticmethod
    def _update(params, h, x_proj):
        rec = params["recurrent"]
        h_proj = h @ rec["kernel"]
        x_r, x_z, x_n = jnp.split(x_proj, 3, axis=-1)
        h_r, h_z, h_n = jnp.split(h_proj, 3, axis=-1)
        r = jax.nn.sigmoid(x_r + h_r)
        z = jax.nn.sigmoid(x_z + h_z)
        n = jnp.tanh(x_n + r * (h_n + rec["bias_n"]))
        h = (1 - z) * n + z * h
        return h, h


@dataclasses.dataclass(frozen=True)
class LSTMCell:
    """LSTM: gates i, f, g, o; c' = f c + i g; h' = o tanh(c'); forget bias starts at 1. Carry (c, h)."""

    hidden_size: int = 64

    def init(self, key: jax.Array, in_dim: int) -> dict:
        in_key, rec_key = jax.random.split(key)
        h = self.hidden_size
        params = {"input": blocks.dense_init(in_key, in_dim, 4 * h),
                  "recurrent": {"kernel": _orthogonal_blocks(rec_key, h, 4)}}
        params["input"]["bias"] = params["input"]["bias"].at[h : 2 * h].set(1.0)
        return params

    def initialize_carry(self, batch_shape: tuple[int, ...]):
        zeros = jnp.zeros(tuple(batch_shape) + (self.hidden_size,))
        return zeros, zeros

    def step(self, params, carry, x, reset):
        carry = reset_carry(carry, jax.tree.map(jnp.zeros_like, carry), reset)
        return self._update(params, carry, blocks.dense(params["input"], x))

    def scan(self, params, carry, xs, resets=None):
        """xs [T, B..., in_dim], resets [T, B...] -> (carry (c, h), ys [T, B..., H])."""
        projected = blocks.dense(params["input"], xs)
        initial = jax.tree.map(jnp.zeros_like, carry)
        return _scan_projected(self._update, params, carry, projected, resets, initial)

    @staticmethod
    def _update(params, carry, x_proj):
        c, h = carry
        gates = x_proj + h @ params["recurrent"]["kernel"]
        i, f, g, o = jnp.split(gates, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (c, h), h


def _orthogonal_blocks(key: jax.Array, size: int, count: int) -> jax.Array:
    """`count` orthogonal [size, size] blocks side by side: [size, count*size] (keeps early gradients sane)."""
    keys = jax.random.split(key, count)
    return jnp.concatenate([blocks.orthogonal()(k, (size, size)) for k in keys], axis=1)
