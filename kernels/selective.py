"""Selective (Mamba/S6-style) diagonal scan with episode resets (Gu & Dao 2023).

Block: in-proj -> causal depthwise conv1d (width 4) + SiLU -> selective SSM -> gate with SiLU(z) -> out-proj,
wrapped as out = u + block(norm(u)). Per inner channel d and state n:

    Delta_t = softplus(W_dt2 W_dt1 u_t + b_dt)      (low-rank, rank ceil(H/16))
    a_t = exp(Delta_t A),  A = -exp(A_log)           b_t = Delta_t B_t u_t   (B_t = W_B u_t, Euler rule)
    h_t = (1 - r_t) a_t h_{t-1} + b_t                y_t = <h_t, C_t> + D u_t (C_t = W_C u_t)

The carry is (ssm state [B..., N, D], last conv_width-1 conv inputs [B..., conv_width-1, D]); a reset zeroes both,
and inside `scan` inputs from before a reset are masked out of the conv window, so nothing leaks across episodes.
The SSM runs in float32 whatever the weights' dtype. With a sequential recurrence (the CPU default) it is one
fused loop (`kernels.selective_scan`) that carries only the state from step to step (each chunk's decays are
formed at once, its inputs and states are not); otherwise a, b and the states are formed [L, B, N, D] at a time,
for chunks of L steps, and run through `linear_recurrence`.

Params: {"ssm": {"A_log", "dt_bias", "D"}, "in_proj", "conv", "x_proj", "dt_proj", "out_proj", <block params>}.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from kernels import blocks
from kernels.recurrence import default_method, in_chunks, largest_divisor_at_most, linear_recurrence
from kernels.selective_scan import selective_scan, selective_step


@dataclasses.dataclass(frozen=True)
class SelectiveCell:
    """One selective-scan layer of width `hidden_size` (H), inner width expand*H, `state_size` (N) per channel.

    Attributes:
      hidden_size: H (a projection maps in_dim to H if they differ).
      state_size: N real states per inner channel.
      expand: inner width D = expand * H.
      conv_width: depthwise causal conv length (its last conv_width-1 inputs live in the carry).
      dt_rank: rank of the Delta projection; None = ceil(H / 16).
      dt_min, dt_max: log-uniform range of the initial Delta.
      norm: pre-norm LayerNorm on the residual branch.
      method: back-end of the linear recurrence.
      chunk_size: L, the most steps whose [L, B..., N, D] states exist at once (the largest divisor of T up to
        it is used).
      fused: with a sequential recurrence, run it as one fused loop (`kernels.selective_scan`); False forms a, b
        and the states a chunk at a time, as the other back-ends do.
      native: the fused loop on a CPU runs as the hand-written kernel of `kernels/native` when it is built;
        False runs it as XLA loops.
    """

    hidden_size: int = 64
    state_size: int = 16
    expand: int = 2
    conv_width: int = 4
    dt_rank: int | None = None
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    norm: bool = True
    method: str = "auto"
    chunk_size: int = 16
    fused: bool = True
    native: bool = True

    @property
    def inner_size(self) -> int:
        return self.expand * self.hidden_size

    @property
    def rank(self) -> int:
        return self.dt_rank or math.ceil(self.hidden_size / 16)

    def init(self, key: jax.Array, in_dim: int) -> dict:
        keys = jax.random.split(key, 7)
        h, d, n, r = self.hidden_size, self.inner_size, self.state_size, self.rank
        dt = jnp.exp(jax.random.uniform(keys[0], (d,), minval=np.log(self.dt_min), maxval=np.log(self.dt_max)))
        dt = jnp.maximum(dt, 1e-4)
        params = blocks.residual_block_init(keys[1], in_dim, h, "none", self.norm)
        params.update(
            ssm={
                "A_log": jnp.log(jnp.broadcast_to(jnp.arange(1, n + 1, dtype=jnp.float32), (d, n))),
                "dt_bias": dt + jnp.log(-jnp.expm1(-dt)),  # softplus^{-1}(dt)
                "D": jnp.ones((d,)),
            },
            in_proj=blocks.dense_init(keys[2], h, 2 * d),
            conv={"kernel": blocks.lecun_normal(keys[3], (self.conv_width, d), fan_in=self.conv_width),
                  "bias": jnp.zeros((d,))},
            x_proj={"kernel": blocks.lecun_normal(keys[4], (d, r + 2 * n))},
            dt_proj={"kernel": blocks.lecun_normal(keys[5], (r, d))},
            out_proj=blocks.dense_init(keys[6], d, h),
        )
        return params

    def initialize_carry(self, batch_shape: tuple[int, ...]):
        batch_shape = tuple(batch_shape)
        return (
            # [N, D], not [D, N]: the wide D axis contiguous, so the decays exp(dt A) broadcast dt along rows and
            # vectorise (128 state updates of 32 envs x 128 channels x 16: 9.9 ms in [D, N], 3.8 ms in [N, D]).
            jnp.zeros(batch_shape + (self.state_size, self.inner_size), jnp.float32),
            jnp.zeros(batch_shape + (self.conv_width - 1, self.inner_size), jnp.float32),
        )

    def step(self, params, carry, x, reset):
        """One step, for acting. Not `step_via_scan`: at T = 1 the scan's conv masks and the fused loop's chunk
        set-up add about a tenth (128 steps of 32 envs through 2 layers: 52 vs 47 ms).
        tests/kernels/test_kernels_cells.py holds step by step to the scan."""
        return blocks.residual_block(params, "none", lambda z: self._mix_one_step(params, carry, z, reset), x)

    def scan(self, params, carry, xs, resets=None):
        """xs [T, B..., in_dim], resets [T, B...] -> (carry, ys [T, B..., H])."""
        return blocks.residual_block(params, "none", lambda z: self._mix(params, carry, z, resets), xs)

    def _mix(self, params, carry, u, resets):
        ssm_state, conv_window = carry
        x, gate = jnp.split(blocks.dense(params["in_proj"], u), 2, axis=-1)
        x_conv, conv_window = self._causal_conv(params["conv"], conv_window, x, resets)
        x_conv = jax.nn.silu(x_conv)
        y, ssm_state = self._selective_ssm(params, ssm_state, x_conv, resets)
        out = blocks.dense(params["out_proj"], y * jax.nn.silu(gate))
        return (ssm_state, conv_window), out

    def _mix_one_step(self, params, carry, u, reset):
        """`_mix` for one step: u [B..., H] -> (carry, out [B..., H])."""
        ssm_state, window = carry
        window = jnp.where(reset[..., None, None], 0.0, window)
        x, gate = jnp.split(blocks.dense(params["in_proj"], u), 2, axis=-1)
        inputs = jnp.concatenate([window, x[..., None, :].astype(window.dtype)], axis=-2)  # [B..., W, D], oldest first
        x_conv = jax.nn.silu(self._conv_one_step(params["conv"], inputs)).astype(jnp.float32)
        dt, b_t, c_t, a = self._selection(params, x_conv)
        # selective_step drops the state at a reset.
        y, ssm_state = selective_step(dt, dt * x_conv, b_t, c_t, a, reset, ssm_state, self.native)
        y = y + params["ssm"]["D"] * x_conv
        out = blocks.dense(params["out_proj"], y * jax.nn.silu(gate))
        return (ssm_state, inputs[..., 1:, :]), out

    @staticmethod
    def _conv_one_step(conv, inputs):
        """The conv's output for the newest of `inputs [B..., W, D]`, a sum of W taps. Not a reduction over the W
        axis: XLA's CPU back-end made that a library call costing ~0.3 ms per step at 32 envs x 128 channels."""
        out = conv["bias"]
        for lag in range(inputs.shape[-2]):
            out = out + inputs[..., lag, :] * conv["kernel"][lag]
        return out

    def _causal_conv(self, conv, window, x, resets):
        """Depthwise causal conv over [carried window ; x] that ignores inputs from before the latest reset.

        x [T, B..., D], window [B..., W-1, D] (oldest first). Returns (conv out [T, B..., D], new window).
        """
        length, width = x.shape[0], self.conv_width
        history = jnp.moveaxis(window, -2, 0)  # [W-1, B..., D]
        padded = jnp.concatenate([history, x], axis=0)  # position s of padded is time s - (W-1)
        time = jnp.arange(length)
        if resets is None:
            episode_start = jnp.full((length,) + x.shape[1:-1], -width, jnp.int32)
        else:
            # Latest reset at or before t (or -W: none, the whole carried window is valid).
            marks = jnp.where(resets, time.reshape((-1,) + (1,) * (resets.ndim - 1)), -width)
            episode_start = jax.lax.cummax(marks.astype(jnp.int32), axis=0)
        out = conv["bias"]
        for lag in range(width):  # a handful of taps: unrolled, each one vectorised over time
            tap = padded[width - 1 - lag : width - 1 - lag + length]  # input at time t - lag
            valid = (time.reshape((-1,) + (1,) * (tap.ndim - 1)) - lag) >= episode_start[..., None]
            out = out + jnp.where(valid, tap, 0.0) * conv["kernel"][width - 1 - lag]
        new_window = self._next_window(padded, resets, length)
        return out, new_window

    def _next_window(self, padded, resets, length):
        """The last W-1 inputs, with those from before the latest reset zeroed (as `step` would leave them)."""
        width = self.conv_width
        tail = padded[-(width - 1):]  # times length-W+1 .. length-1
        if resets is not None:
            tail_times = jnp.arange(length - width + 1, length)
            marks = jnp.where(resets, jnp.arange(length).reshape((-1,) + (1,) * (resets.ndim - 1)), -width)
            last_start = marks.max(axis=0)  # [B...]
            keep = tail_times.reshape((-1,) + (1,) * last_start.ndim) >= last_start
            tail = jnp.where(keep[..., None], tail, 0.0)
        return jnp.moveaxis(tail, 0, -2)

    def _selective_ssm(self, params, state, x, resets):
        """x [T, B..., D] -> (y [T, B..., D], last state [B..., N, D]); everything in float32."""
        x = x.astype(jnp.float32)
        dt, b_t, c_t, a = self._selection(params, x)
        flags = jnp.zeros(x.shape[:-1], bool) if resets is None else resets
        method = default_method() if self.method == "auto" else self.method
        if self.fused and method == "sequential":
            y, last = selective_scan(dt, dt * x, b_t, c_t, a, flags, state, self.chunk_size, self.native)
        else:
            y, last = self._recurrence_in_chunks(method, a, state, dt, x, b_t, c_t, flags)
        return y + params["ssm"]["D"] * x, last

    def _selection(self, params, x):
        """The input-dependent Delta [..., D], B [..., N], C [..., N] of x [..., D], and A = -exp(A_log) [D, N]."""
        n, r = self.state_size, self.rank
        projected = x @ params["x_proj"]["kernel"]
        dt_low, b_t, c_t = projected[..., :r], projected[..., r : r + n], projected[..., r + n :]
        dt = jax.nn.softplus(dt_low @ params["dt_proj"]["kernel"] + params["ssm"]["dt_bias"])
        return dt, b_t, c_t, -jnp.exp(params["ssm"]["A_log"])

    def _recurrence_in_chunks(self, method, a, state, dt, x, b_t, c_t, resets):
        """The SSM's recurrence through `linear_recurrence`, in chunks of at most `chunk_size` steps.

        Each chunk runs under `jax.checkpoint`: its a, b and states ([L, B..., N, D]) live only while it runs,
        and the backward pass recomputes them from the state that entered the chunk. Forming them for the whole
        sequence, [T, B..., N, D], cost 3-4x more on a CPU, where those arrays do not fit in cache; the
        arithmetic is the same, so the results are too.
        """
        chunk = largest_divisor_at_most(x.shape[0], self.chunk_size)

        @jax.checkpoint
        def run_chunk(h, inputs):
            dt_c, x_c, b_c, c_c, resets_c = inputs
            a_bar = jnp.exp(dt_c[..., None, :] * a.T)  # [L, B..., N, D]
            b_bar = (dt_c * x_c)[..., None, :] * b_c[..., None]
            states = linear_recurrence(a_bar, b_bar, resets_c[..., None], h, method=method)
            return states[-1], jnp.einsum("...nd,...n->...d", states, c_c)

        last, y = jax.lax.scan(run_chunk, state, in_chunks(chunk, dt, x, b_t, c_t, resets))
        return y.reshape(x.shape), last
