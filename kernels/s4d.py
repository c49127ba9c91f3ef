"""S4D: diagonal S4, one SISO system per channel, with a convolution and a recurrent mode (Gu et al. 2022).

Per channel h and mode n:  x_t = (1 - r_t) A_bar x_{t-1} + B_bar u_t,   y_t = 2 Re(sum_n C_n x_t) + D u_t,
with A = -exp(alpha) + i beta, A_bar = exp(Delta A), B_bar = (A_bar - 1) / A (ZOH, B = 1 folded into C).

- mode="recurrent" (default, RL): the linear recurrence, honouring resets, computed in chunks of L steps: inside
  a chunk a length-L convolution cut at resets plus the free response of the state entering it, across chunks the
  recurrence of the chunk-end states. The per-step states [T, B..., H, N/2] are never formed: their count, H N/2
  per token, is what made this layer ~7x slower than S5 in PPO.
- mode="conv": an FFT convolution with the length-T kernel. A reset makes the map time-varying, so one FFT cannot
  compute it: asking conv mode for resets raises a ValueError rather than silently ignoring them (the popgym S4D
  bug). A carried-in state is supported (its free response is added).

Params: {"ssm": {"alpha", "beta", "log_step"}, "C", "D", <block params>}.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from kernels import blocks
from kernels.recurrence import complex_pair_recurrence, default_method, largest_divisor_at_most, linear_recurrence

INITS = ("lin", "inv", "real")
MODES = ("recurrent", "conv")


@dataclasses.dataclass(frozen=True)
class S4DCell:
    """One S4D layer: `hidden_size` channels, each with `num_modes` (N/2) complex modes.

    Attributes:
      hidden_size: H channels (a projection maps in_dim to H if they differ).
      num_modes: N/2 complex modes per channel.
      init_kind: "lin" (A_n = -1/2 + i pi n), "inv" or "real".
      mode: "recurrent" or "conv" (conv refuses resets).
      step_min, step_max: log-uniform range of the per-channel Delta.
      activation, norm: as in S5Cell.
      method: back-end of the recurrence over chunk-end states (sequential: on (re, im) pairs).
      chunk_size: L, the most steps per chunk of the recurrent mode (the largest divisor of T up to it is used).
    """

    hidden_size: int = 64
    num_modes: int = 32
    init_kind: str = "lin"
    mode: str = "recurrent"
    step_min: float = 1e-3
    step_max: float = 1e-1
    activation: str = "full_glu"
    norm: bool = True
    method: str = "auto"
    chunk_size: int = 16

    def __post_init__(self):
        if self.init_kind not in INITS:
            raise ValueError(f"unknown S4D init {self.init_kind!r}; valid: {INITS}")
        if self.mode not in MODES:
            raise ValueError(f"unknown S4D mode {self.mode!r}; valid: {MODES}")

    def init(self, key: jax.Array, in_dim: int) -> dict:
        block_key, c_key, step_key = jax.random.split(key, 3)
        h, n = self.hidden_size, self.num_modes
        re, im = _initial_eigenvalues(self.init_kind, n)
        c = jax.random.normal(c_key, (h, n, 2)) * np.sqrt(0.5)  # CN(0, 1) as (re, im) pairs
        ssm = {
            "alpha": jnp.broadcast_to(jnp.log(-re), (h, n)).astype(jnp.float32),
            "beta": jnp.broadcast_to(im, (h, n)).astype(jnp.float32),
            "log_step": jax.random.uniform(step_key, (h,), minval=np.log(self.step_min), maxval=np.log(self.step_max)),
        }
        params = blocks.residual_block_init(block_key, in_dim, h, self.activation, self.norm)
        params.update(ssm=ssm, C=c, D=jnp.ones((h,)))
        return params

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros(tuple(batch_shape) + (self.hidden_size, self.num_modes), jnp.complex64)

    def step(self, params, carry, x, reset):
        """One step of the recurrence, for acting. Not `step_via_scan`: at T = 1 the chunked scan's taps, powers
        and chunk-end states made acting 2.4x slower (128 steps of 32 envs through 2 layers: 80 vs 33 ms).
        tests/kernels/test_kernels_cells.py holds step by step to the scan."""
        return blocks.residual_block(params, self.activation, lambda z: self._one_step(params, carry, z, reset), x)

    def scan(self, params, carry, xs, resets=None):
        """xs [T, B..., in_dim], resets [T, B...] -> (carry [B..., H, N/2], ys [T, B..., H])."""
        if self.mode == "conv" and resets is not None:
            raise ValueError(
                "S4D convolution mode cannot reset inside a sequence (the map is no longer one convolution); "
                "pass resets=None for reset-free sequences or use mode='recurrent'"
            )
        mixer = self._convolve if self.mode == "conv" else self._recur
        return blocks.residual_block(params, self.activation, lambda z: mixer(params, carry, z, resets), xs)

    def discretise(self, ssm: dict) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(A [H, N/2], A_bar = exp(Delta A), B_bar = (A_bar - 1) / A)."""
        a = jax.lax.complex(-jnp.exp(ssm["alpha"]), ssm["beta"])
        step = jnp.exp(ssm["log_step"])[:, None]
        a_bar = jnp.exp(a * step)
        return a, a_bar, (a_bar - 1) / a

    def _one_step(self, params, carry, z, reset):
        """x = (1 - r) A_bar x + B_bar u, y = 2 Re(C x) + D u; z [B..., H] -> (x [B..., H, N/2], y [B..., H])."""
        _, a_bar, b_bar = self.discretise(params["ssm"])
        state = a_bar * jnp.where(reset[..., None, None], 0, carry) + b_bar * z[..., None]
        c = params["C"]  # 2 Re(C x) in real arithmetic: 2 (Re C Re x - Im C Im x)
        y = 2 * (c[..., 0] * state.real - c[..., 1] * state.imag).sum(-1)
        return state, y + params["D"] * z

    def _recur(self, params, carry, z, resets):
        """The recurrence in chunks of L steps: z [T, B..., H] -> (last state [B..., H, N/2], y [T, B..., H]).

        The system is time-invariant, so within a chunk it is a short convolution plus the free response of the
        state that entered the chunk; only the chunk-end states ([T/L, B..., H, N/2]) are ever formed, never the
        per-step ones. Resets cut the convolution's taps and the free response where they fall.
        """
        length = z.shape[0]
        chunk = largest_divisor_at_most(length, self.chunk_size)
        a, _, b_bar = self.discretise(params["ssm"])
        c = jax.lax.complex(params["C"][..., 0], params["C"][..., 1])
        step_a = a * jnp.exp(params["ssm"]["log_step"])[:, None]  # powers A_bar^p = exp(p Delta A), evaluated directly
        z_chunks = z.reshape((length // chunk, chunk) + z.shape[1:])  # [C, L, B..., H]
        flags = jnp.zeros(z.shape[:-1], bool) if resets is None else resets
        # Resets seen so far inside the chunk, up to and including step i: same count = same episode.
        seen = jnp.cumsum(flags.reshape(z_chunks.shape[:-1]), axis=1, dtype=jnp.int32)  # [C, L, B...]

        # Within the chunk: y_i += sum_{j <= i, same episode} K[i - j] u_j, K[d] = 2 Re sum_n C_n B_bar_n A_bar^d.
        lags = jnp.arange(chunk)
        taps = 2 * jnp.einsum("hn,hnl->lh", c * b_bar, jnp.exp(step_a[..., None] * lags)).real  # [L, H]
        y = _chunk_convolution(taps, z_chunks, seen)

        # Chunk ends: S_c = [no reset in c] A_bar^L S_{c-1} + sum_{j after the last reset} A_bar^(L-1-j) B_bar u_j.
        into_end = jnp.exp(step_a[..., None] * (chunk - 1 - lags)) * b_bar[..., None]  # [H, N/2, L]
        after_last = (seen == seen[:, -1:])[..., None]
        injected = _contract_time(jnp.where(after_last, z_chunks, 0.0), into_end)  # [C, B..., H, N/2] complex
        chunk_resets = seen[:, -1] > 0
        ends = self._chunk_states(jnp.exp(step_a * chunk), injected, chunk_resets, carry)  # [C, B..., H, N/2]
        entering = jnp.concatenate([carry[None], ends[:-1]])

        # Free response of the state that entered the chunk, until the chunk's first reset.
        out_of_start = c[..., None] * jnp.exp(step_a[..., None] * (lags + 1))  # [H, N/2, L]
        free = _contract_modes(entering, out_of_start)  # [C, L, B..., H]
        y = y + jnp.where((seen == 0)[..., None], free, 0.0)
        y = y.reshape(z.shape) + params["D"] * z
        return ends[-1], y

    def _chunk_states(self, decay, injected, chunk_resets, carry):
        """S_c = (1 - r_c) decay S_{c-1} + injected_c over the chunks, S_{-1} = carry; [C, B..., H, N/2]."""
        method = default_method() if self.method == "auto" else self.method
        if method != "sequential":
            return linear_recurrence(decay, injected, chunk_resets[..., None], carry, method=method)
        shape = injected.shape
        flat = lambda x: x.reshape(x.shape[: x.ndim - 2] + (-1,))
        pairs = lambda x: jnp.concatenate([flat(x.real), flat(x.imag)], axis=-1)
        states = complex_pair_recurrence(pairs(decay), pairs(injected), chunk_resets, pairs(carry))
        half = states.shape[-1] // 2
        return jax.lax.complex(states[..., :half], states[..., half:]).reshape(shape)

    def _convolve(self, params, carry, z, resets):
        """y = irfft(rfft(u, 2L) rfft(K, 2L))[:L] + D u + free response of the carry; z [L, B..., H]."""
        length = z.shape[0]
        a, a_bar, b_bar = self.discretise(params["ssm"])
        c = jax.lax.complex(params["C"][..., 0], params["C"][..., 1])
        step = jnp.exp(params["ssm"]["log_step"])[:, None]
        # Vandermonde exp(Delta A_n * l), evaluated directly rather than by repeated powers: [H, N/2, L].
        powers = jnp.exp((a * step)[..., None] * jnp.arange(length))
        kernel = 2 * jnp.einsum("hn,hnl->hl", c * b_bar, powers).real  # [H, L]
        u = jnp.moveaxis(z, 0, -1)  # [B..., H, L]
        y = jnp.fft.irfft(jnp.fft.rfft(u, 2 * length) * jnp.fft.rfft(kernel, 2 * length), 2 * length)[..., :length]
        y = jnp.moveaxis(y, -1, 0) + params["D"] * z
        # Free response of the carried state: 2 Re sum_n C_n A_bar_n^(l+1) h_n.
        y = y + 2 * jnp.einsum("hn,hnl,...hn->l...h", c, powers * a_bar[..., None], carry).real
        # Final state x_{L-1} = A_bar^L h + sum_k A_bar^(L-1-k) B_bar u_k, for handing on to the next chunk.
        driven = jnp.einsum("hnl,l...h->...hn", powers[..., ::-1] * b_bar[..., None], z)
        last = (powers[..., -1] * a_bar) * carry + driven
        return last, y


def _initial_eigenvalues(kind: str, num_modes: int) -> tuple[np.ndarray, np.ndarray]:
    n = np.arange(num_modes)
    if kind == "lin":
        return np.full(num_modes, -0.5), np.pi * n
    if kind == "inv":
        size = 2 * num_modes
        return np.full(num_modes, -0.5), size / np.pi * (size / (2 * n + 1) - 1)
    return -(n + 1.0), np.zeros(num_modes)


def _chunk_convolution(taps: jax.Array, z: jax.Array, seen: jax.Array) -> jax.Array:
    """sum_{d < L} taps[d] z_{i-d} over lags that stay inside the chunk and the episode; z [C, L, B..., H].

    One shifted multiply-add per lag (L of them) instead of an [L, L] Toeplitz product per channel and sequence.
    """
    chunk = z.shape[1]
    y = taps[0] * z
    for lag in range(1, chunk):
        shifted = jnp.pad(z[:, : chunk - lag], [(0, 0), (lag, 0)] + [(0, 0)] * (z.ndim - 2))
        earlier = jnp.pad(seen[:, : chunk - lag], [(0, 0), (lag, 0)] + [(0, 0)] * (seen.ndim - 2), constant_values=-1)
        y = y + jnp.where((seen == earlier)[..., None], taps[lag] * shifted, 0.0)
    return y


def _contract_time(z: jax.Array, weights: jax.Array) -> jax.Array:
    """sum_j weights[h, n, j] z[c, j, b, h] -> [C, B..., H, N/2] complex, as one real product batched over h."""
    h, modes, chunk = weights.shape
    lead = z.shape[2:-1]
    rows = jnp.moveaxis(z, 1, -1).reshape(-1, h, chunk)  # [(C B...), H, L]
    real = jnp.concatenate([weights.real, weights.imag], axis=1)  # [H, 2N, L]: [re | im] modes
    out = jnp.einsum("xhl,hml->xhm", rows, real)
    out = jax.lax.complex(out[..., :modes], out[..., modes:])
    return out.reshape((z.shape[0],) + lead + (h, modes))


def _contract_modes(states: jax.Array, weights: jax.Array) -> jax.Array:
    """2 Re sum_n weights[h, n, i] states[c, b, h, n] -> [C, L, B..., H], as one real product batched over h."""
    h, modes, chunk = weights.shape
    lead = states.shape[1:-2]
    pairs = jnp.concatenate([states.real, states.imag], axis=-1).reshape(-1, h, 2 * modes)  # [(C B...), H, 2N]
    real = 2 * jnp.concatenate([weights.real, -weights.imag], axis=1)  # [H, 2N, L]
    out = jnp.einsum("xhm,hml->xhl", pairs, real).reshape((states.shape[0],) + lead + (h, chunk))
    return jnp.moveaxis(out, -1, 1)
