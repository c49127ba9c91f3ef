"""S4D: diagonal S4, one SISO system per channel, with a convolution and a recurrent mode (Gu et al. 2022).

Per channel h and mode n:  x_t = (1 - r_t) A_bar x_{t-1} + B_bar u_t,   y_t = 2 Re(sum_n C_n x_t) + D u_t,
with A = -exp(alpha) + i beta, A_bar = exp(Delta A), B_bar = (A_bar - 1) / A (ZOH, B = 1 folded into C).

- mode="recurrent" (default, RL): the linear recurrence; honours resets.
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
from kernels.cell import step_via_scan
from kernels.recurrence import linear_recurrence

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
      activation, norm, method: as in S5Cell.
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
        return step_via_scan(dataclasses.replace(self, mode="recurrent"), params, carry, x, reset)

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

    def _recur(self, params, carry, z, resets):
        _, a_bar, b_bar = self.discretise(params["ssm"])
        channel_resets = None if resets is None else resets[..., None]  # [T, B..., 1]: same for every channel
        states = linear_recurrence(a_bar, b_bar * z[..., None], channel_resets, carry, method=self.method)
        c = jax.lax.complex(params["C"][..., 0], params["C"][..., 1])
        y = 2 * jnp.einsum("...hn,hn->...h", states, c).real + params["D"] * z
        return states[-1], y

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
