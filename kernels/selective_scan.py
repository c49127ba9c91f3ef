"""The selective SSM's recurrence as one fused sequential scan (the CPU back-end of `kernels.selective`).

    h_t = (1 - r_t) exp(dt_t A) h_{t-1} + u_t B_t^T,      y_t = h_t C_t        (per batch element)

with dt_t, u_t `[B, D]`, B_t, C_t `[B, N]`, A `[D, N]` and states h_t `[B, D, N]`. Formed as separate arrays, the
decays, inputs and states are each `[T, B, D, N]`, and on a CPU moving them through memory costs more than the
arithmetic. Here each step computes its decay and input inside the loop body, and only the `[B, D, N]` carry lives
from step to step.

The backward pass is written by hand, in chunks of `chunk_size` steps: the forward pass keeps the state that
entered each chunk; the backward pass recomputes one chunk's states (`[L, B, D, N]`, the only per-step states that
ever exist at once), then runs the adjoint recurrence backwards through it,

    lam_t = dy_t C_t^T + (1 - r_{t+1}) exp(dt_{t+1} A) lam_{t+1},

and reads every input's gradient off lam_t, one step at a time. Keeping every state (or decay) from the forward
pass instead was slower on this CPU: writing and reading them back cost more than recomputing them.

Measured choices (a [128, 8, 128, 16] case, `scripts/benchmark.py kernels` for the layer):
- States are `[N, B, D]` inside: the wide D axis is the contiguous one, and a sum over N adds whole `[B, D]`
  slices (a sum over a contiguous axis of 16 vectorises badly).
- The backward step reads its per-step inputs packed (`[dt; u; dy]`, `[B; C]`) and writes its gradients packed:
  a loop step this small costs about as much per array it slices or writes as per operation.
- Under `vmap` the loops run once per mapped element (`sequential_vmap`): XLA's CPU back-end ran the batched
  loop body, with its leading axis of one, about 5x slower.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_batching import sequential_vmap

from kernels.recurrence import in_chunks, largest_divisor_at_most


def selective_scan(dt, u, b, c, a, resets, h0, chunk_size: int = 16):
    """Outputs `y [T, B..., D]` and the last state `[B..., D, N]` of the recurrence above, in float32.

    Args:
      dt: step sizes `[T, B..., D]` (the decay is `exp(dt A)`).
      u: inputs `[T, B..., D]` (the Euler rule's `dt * x`).
      b, c: input and output vectors `[T, B..., N]`.
      a: `[D, N]` continuous-time decay rates (negative).
      resets: bool `[T, B...]`; True = step t starts a new episode (the carry is dropped before it).
      h0: `[B..., D, N]` incoming state.
      chunk_size: the most steps whose states the backward pass forms at once (the largest divisor of T up to it).
    """
    dt, u, b, c, a, h0 = (v.astype(jnp.float32) for v in (dt, u, b, c, a, h0))
    if dt.shape[0] == 1:  # acting: one step needs no loop
        return _single_step(dt[0], u[0], b[0], c[0], a, resets[0], h0)
    length, width, size = dt.shape[0], dt.shape[-1], b.shape[-1]
    rows = lambda v: v.reshape(length, -1, v.shape[-1])  # batch axes flattened: [T, B, last]
    states_first = lambda v: jnp.swapaxes(rows(v), 1, 2)[..., None]  # [T, N, B, 1]
    h0_nbd = jnp.moveaxis(h0.reshape(-1, width, size), -1, 0)
    chunk = largest_divisor_at_most(length, chunk_size)
    y, last = _scan(chunk, rows(dt), rows(u), states_first(b), states_first(c), a.T[:, None, :],
                    resets.reshape(length, 1, -1, 1), h0_nbd)
    return y.reshape(dt.shape), jnp.moveaxis(last, 0, -1).reshape(h0.shape)


def _single_step(dt, u, b, c, a, reset, h0):
    decayed = jnp.where(reset[..., None, None], 0.0, jnp.exp(dt[..., None] * a) * h0)
    h = decayed + u[..., None] * b[..., None, :]
    return jnp.einsum("...dn,...n->...d", h, c)[None], h


def _decay(a, dt_t):
    return jnp.exp(dt_t[None] * a)


def _step(a, h, dt_t, u_t, b_t, r_t):
    """h_t from h_{t-1} on [N, B, D]: `where(r_t, 0, exp(dt_t A) h) + u_t b_t^T`."""
    return jnp.where(r_t, 0.0, _decay(a, dt_t) * h) + u_t[None] * b_t


def _forward(chunk, dt, u, b, c, a, resets, h0):
    """(y [T, B, D], last state, the state entering each chunk [T / L, N, B, D])."""

    def run_chunk(h, inputs):
        def step(h, step_inputs):
            dt_t, u_t, b_t, c_t, r_t = step_inputs
            h = _step(a, h, dt_t, u_t, b_t, r_t)
            return h, (h * c_t).sum(0)

        last, y = lax.scan(step, h, inputs)
        return last, (y, h)

    last, (y, entering) = lax.scan(run_chunk, h0, in_chunks(chunk, dt, u, b, c, resets))
    return y.reshape((-1,) + y.shape[2:]), last, entering


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _scan(chunk, dt, u, b, c, a, resets, h0):
    return _scan_fwd(chunk, dt, u, b, c, a, resets, h0)[0]


def _scan_fwd(chunk, dt, u, b, c, a, resets, h0):
    y, last, entering = sequential_vmap(functools.partial(_forward, chunk))(dt, u, b, c, a, resets, h0)
    return (y, last), (dt, u, b, c, a, resets, entering)


def _scan_bwd(chunk, residuals, cotangents):
    return sequential_vmap(functools.partial(_backward, chunk))(*residuals, *cotangents)


def _backward(chunk, dt, u, b, c, a, resets, entering, dy, dlast):
    """Cotangents of (dt, u, b, c, a, resets, h0), chunk by chunk from the end."""

    def chunk_backward(carry, inputs):
        flow, grad_a = carry
        dt_c, u_c, b_c, c_c, resets_c, dy_c, h_in = inputs

        def recompute(h, step_inputs):
            return _step(a, h, *step_inputs), h

        h_last, previous = lax.scan(recompute, h_in, (dt_c, u_c, b_c, resets_c))
        packed = (jnp.stack([dt_c, u_c, dy_c], 1), jnp.stack([b_c, c_c], 1), resets_c, previous)
        (flow, grad_a, _), (grad_wide, grad_narrow) = lax.scan(
            _step_backward(a), (flow, grad_a, h_last), packed, reverse=True)
        return (flow, grad_a), (grad_wide[:, 0], grad_wide[:, 1], grad_narrow[:, 0], grad_narrow[:, 1])

    # `flow` is the adjoint handed from step t to step t-1, (1 - r_t) exp(dt_t A) lam_t; at the end, d loss / d h0.
    inputs = in_chunks(chunk, dt, u, b, c, resets, dy) + (entering,)
    (grad_h0, grad_a), grads = lax.scan(chunk_backward, (dlast, jnp.zeros_like(a)), inputs, reverse=True)
    grad_dt, grad_u, grad_b, grad_c = (g.reshape((-1,) + g.shape[2:]) for g in grads)
    return grad_dt, grad_u, grad_b, grad_c, grad_a, None, grad_h0


def _step_backward(a):
    """One step of the adjoint recurrence, from t to t-1, with step t's input gradients."""

    def step(carry, step_inputs):
        flow, grad_a, h_t = carry
        (dt_t, u_t, dy_t), (b_t, c_t), reset_t, h_prev = step_inputs
        lam = dy_t[None] * c_t + flow  # d loss / d h_t
        flow = jnp.where(reset_t, 0.0, _decay(a, dt_t) * lam)
        grad_log_decay = flow * h_prev  # d loss / d (dt_t A)
        grad_wide = jnp.stack([(grad_log_decay * a).sum(0), (lam * b_t).sum(0)])  # dt, u: [2, B, D]
        # Contractions over the contiguous D axis run as dots: as multiply-and-sum they were slower.
        grad_narrow = jnp.stack([jnp.einsum("nbd,bd->nb", lam, u_t), jnp.einsum("nbd,bd->nb", h_t, dy_t)])
        grad_a = grad_a + (grad_log_decay * dt_t[None]).sum(1, keepdims=True)
        return (flow, grad_a, h_prev), (grad_wide, grad_narrow[..., None])

    return step


_scan.defvjp(_scan_fwd, _scan_bwd)
