"""S5: a MIMO diagonal state-space layer with HiPPO init and episode resets (Smith et al. 2023).

    x_t = (1 - r_t) Lambda_bar x_{t-1} + B_bar u_t        (P complex states, one of each conjugate pair)
    y_t = 2 Re(C~ x_t) + D * u_t
    out = u + act(y(norm(u)))                             (the residual block in blocks.py)

Speed: the input map B_bar u and output map C~ x are each *one* real matrix product over all T*B tokens; only the
diagonal recurrence runs over time (sequentially on CPU). That is what makes S5 cheaper than a GRU, which must do
its recurrent matmul per step.

Params: {"ssm": {"lambda_re", "lambda_im", "log_step", "B"}, "C", "D", <block params>}. The "ssm" group is
what `kernels.optim.ssm_optimizer` trains at its own learning rate without weight decay.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from kernels import blocks
from kernels.cell import step_via_scan
from kernels.hippo import block_diagonal_hippo
from kernels.recurrence import complex_pair_recurrence, default_method, linear_recurrence

EIGENVALUE_CONSTRAINTS = ("neg_exp", "clip", "none")
DISCRETISATIONS = ("zoh", "bilinear")
COMPLEX_MODES = ("auto", "pairs", "native")


@dataclasses.dataclass(frozen=True)
class S5Cell:
    """One S5 layer of width `hidden_size` (H) with `ssm_size` (N) HiPPO states, P = N/2 kept.

    Attributes:
      hidden_size: H, input/output width of the SSM (a projection maps in_dim to H if they differ).
      ssm_size: N, size of the HiPPO matrix; P = N/2 complex states are kept (conjugate symmetry).
      blocks: J, number of HiPPO blocks on the diagonal (1 = one full-size HiPPO).
      discretisation: "zoh" or "bilinear".
      eigenvalue_constraint: "neg_exp" (Re lambda = -exp(nu)), "clip" (min(Re, -1e-4)) or "none".
      step_min, step_max: range of the initial timescales Delta (log-uniform).
      activation: "full_glu", "half_glu", "gelu" or "none".
      norm: pre-norm LayerNorm on the residual branch.
      method: back-end of the linear recurrence (see kernels.recurrence).
      complex_mode: "pairs" runs the recurrence on f32 (re, im) halves with a hand-written complex multiply and
        backward pass (kernels.recurrence.complex_pair_recurrence, a sequential scan); "native" runs
        `linear_recurrence` on complex64 with `method`; "auto" (default) = pairs where `method` resolves to
        sequential (the CPU default, where it is the faster), else native. The carry is complex64 either way.
    """

    hidden_size: int = 64
    ssm_size: int = 64
    blocks: int = 1
    discretisation: str = "zoh"
    eigenvalue_constraint: str = "neg_exp"
    step_min: float = 1e-3
    step_max: float = 1e-1
    activation: str = "full_glu"
    norm: bool = True
    method: str = "auto"
    complex_mode: str = "auto"

    def __post_init__(self):
        if self.discretisation not in DISCRETISATIONS:
            raise ValueError(f"unknown discretisation {self.discretisation!r}; valid: {DISCRETISATIONS}")
        if self.eigenvalue_constraint not in EIGENVALUE_CONSTRAINTS:
            raise ValueError(f"unknown eigenvalue_constraint {self.eigenvalue_constraint!r}; "
                             f"valid: {EIGENVALUE_CONSTRAINTS}")
        if self.complex_mode not in COMPLEX_MODES:
            raise ValueError(f"unknown complex_mode {self.complex_mode!r}; valid: {COMPLEX_MODES}")

    @property
    def num_states(self) -> int:
        return self.ssm_size // 2

    def init(self, key: jax.Array, in_dim: int) -> dict:
        block_key, b_key, c_key, d_key, step_key = jax.random.split(key, 5)
        lam, v = block_diagonal_hippo(self.ssm_size, self.blocks)
        h, n = self.hidden_size, self.ssm_size
        v = jnp.asarray(v, jnp.complex64)  # jnp, not numpy, so init also works under vmap (stacked layers)
        b_tilde = v.conj().T @ blocks.lecun_normal(b_key, (n, h), fan_in=h)  # [P, H]: V^{-1} = V^H, kept rows
        c_tilde = blocks.lecun_normal(c_key, (h, n), fan_in=n) @ v  # [H, P]: kept columns
        log_step = jax.random.uniform(
            step_key, (self.num_states,), minval=np.log(self.step_min), maxval=np.log(self.step_max)
        )
        ssm = {
            "lambda_re": jnp.asarray(self._encode_lambda_re(lam.real), jnp.float32),
            "lambda_im": jnp.asarray(lam.imag, jnp.float32),
            "log_step": log_step,
            "B": jnp.stack([b_tilde.real, b_tilde.imag], -1),
        }
        params = blocks.residual_block_init(block_key, in_dim, h, self.activation, self.norm)
        params.update(
            ssm=ssm,
            C=jnp.stack([c_tilde.real, c_tilde.imag], -1),
            D=jax.random.normal(d_key, (h,)),
        )
        return params

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros(tuple(batch_shape) + (self.num_states,), jnp.complex64)

    def step(self, params, carry, x, reset):
        return step_via_scan(self, params, carry, x, reset)

    def scan(self, params, carry, xs, resets=None):
        """xs [T, B..., in_dim], resets [T, B...] -> (carry [B..., P], ys [T, B..., H])."""
        return blocks.residual_block(params, self.activation, lambda z: self._ssm(params, carry, z, resets), xs)

    def eigenvalues(self, ssm: dict) -> jax.Array:
        """Continuous-time Lambda [P], with the configured constraint on its real part."""
        re = ssm["lambda_re"]
        if self.eigenvalue_constraint == "neg_exp":
            re = -jnp.exp(re)
        elif self.eigenvalue_constraint == "clip":
            re = jnp.minimum(re, -1e-4)
        return jax.lax.complex(re, ssm["lambda_im"])

    def discretise(self, ssm: dict) -> tuple[jax.Array, jax.Array]:
        """(Lambda_bar [P], B_bar [P, H]) by ZOH or bilinear with Delta = exp(log_step)."""
        lam = self.eigenvalues(ssm)
        step = jnp.exp(ssm["log_step"])
        b_tilde = jax.lax.complex(ssm["B"][..., 0], ssm["B"][..., 1])
        if self.discretisation == "zoh":
            lam_bar = jnp.exp(lam * step)
            b_bar = ((lam_bar - 1) / lam)[:, None] * b_tilde
        else:
            denominator = 1 - lam * step / 2
            lam_bar = (1 + lam * step / 2) / denominator
            b_bar = (step / denominator)[:, None] * b_tilde
        return lam_bar, b_bar

    def _uses_pairs(self) -> bool:
        if self.complex_mode == "pairs":
            return True
        if self.complex_mode == "native":
            return False
        method = default_method() if self.method == "auto" else self.method
        return method == "sequential"

    def _encode_lambda_re(self, re: np.ndarray) -> np.ndarray:
        return np.log(-re) if self.eigenvalue_constraint == "neg_exp" else re

    def _ssm(self, params, carry, z, resets):
        """z [T, B..., H] -> (last state [B..., P], y [T, B..., H])."""
        lam_bar, b_bar = self.discretise(params["ssm"])
        p = self.num_states
        # One real matmul for the complex input map: [H, 2P] = [Re B_bar^T | Im B_bar^T].
        b_real = jnp.concatenate([b_bar.real.T, b_bar.imag.T], axis=1)
        bu = blocks.matmul(z, b_real)  # [T, B..., 2P]: [re | im]
        # 2 Re(C~ x) = 2 (Re C~ Re x - Im C~ Im x), again one real matmul: [2P, H].
        c = params["C"]
        c_real = 2 * jnp.concatenate([c[..., 0].T, -c[..., 1].T], axis=0)
        if self._uses_pairs():
            a = jnp.concatenate([lam_bar.real, lam_bar.imag])
            h0 = jnp.concatenate([carry.real, carry.imag], axis=-1)
            states = complex_pair_recurrence(a, bu, resets, h0)  # [T, B..., 2P]
            last = jax.lax.complex(states[-1, ..., :p], states[-1, ..., p:])
        else:
            bu = jax.lax.complex(bu[..., :p], bu[..., p:])
            states = linear_recurrence(lam_bar, bu, resets, carry, method=self.method)
            last = states[-1]
            states = jnp.concatenate([states.real, states.imag], axis=-1)
        y = blocks.matmul(states, c_real) + params["D"] * z
        return last, y
