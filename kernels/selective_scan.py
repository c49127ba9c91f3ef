"""The selective SSM's recurrence as one fused sequential scan (the CPU back-end of `kernels.selective`).

    h_t = (1 - r_t) exp(dt_t A) h_{t-1} + u_t B_t^T,      y_t = h_t C_t        (per batch element)

with dt_t, u_t `[B, D]`, B_t, C_t `[B, N]`, A `[D, N]` and states h_t `[B, N, D]`. Formed as separate arrays, the
decays, inputs and states are each `[T, B, N, D]`, and on a CPU moving them through memory costs more than the
arithmetic. Here the scan runs a chunk of L steps at a time: the chunk's decays are formed at once (`[L, B, N, D]`,
one vectorised `exp`, about 20 % faster than one per step), each step computes its input and output inside the
loop body, and only the `[B, N, D]` carry lives from step to step.

The backward pass is written by hand, in chunks of `chunk_size` steps: the forward pass keeps the state that
entered each chunk; the backward pass forms one chunk's decays (`[L, B, N, D]`, one vectorised `exp`), recomputes
its states from them, then runs the adjoint recurrence backwards through it,

    lam_t = dy_t C_t^T + (1 - r_{t+1}) exp(dt_{t+1} A) lam_{t+1},

and reads the gradients off lam and the states in two ways. Those that sum over N (dt's and u's, and A's, summed
over time into a `[B, N, D]` carry) are formed inside the adjoint loop, a step at a time: each is a few row
additions of `[B, D]`, and forming them there spares writing the chunk's `[L, B, N, D]` products and reading
them back (the scan's gradient took 16-24 % less time than with them as chunk-wide products). Those that
contract over D (B's and C's) are chunk-wide products of the stacked lam and states after the loop: inside it,
a sum along the contiguous D axis for every step made the gradient 1.4x slower. Keeping every state (or decay)
from the forward pass instead of recomputing a chunk's was slower still: writing and reading them back cost
more than recomputing them.

Two implementations of these loops share the custom VJP below. Where the C++ kernel of `kernels/native` is built
(`make install` does it) and JAX computes on the CPU, it runs both passes, with the same chunk checkpoints and
recomputation: each block of 16 channels of one batch element keeps its N state rows in registers for all T
steps, so the only memory traffic is the step's inputs and outputs, and batch elements are shared among XLA's
intra-op threads. Otherwise (`native=False`, no compiler, an accelerator) the XLA loops below run. At
[T, B, D, N] = [128, 8, 128, 16], in turn in one process: forward 1.2-1.5 ms as XLA loops, 0.5 ms native;
forward and backward 4.2-5.1 ms against 1.3-2.1 ms.

Measured choices for the XLA loops (a [128, 8, 128, 16] case, `scripts/benchmark.py kernels` for the layer):
- States are `[B, N, D]` inside: the wide D axis is the contiguous one, so a sum over N adds rows of D (a sum
  over a contiguous axis of 16 vectorises badly), and the contractions over D that give the gradients of B and C
  need no transpose (with `[N, B, D]` they did, and the gradient took 10 % longer).
- Under `vmap` the loops run once per mapped element (`sequential_vmap`): XLA's CPU back-end ran the batched
  loop body, with its leading axis of one, about 5x slower.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.custom_batching import sequential_vmap

from kernels import native as native_kernels
from kernels.recurrence import in_chunks, largest_divisor_at_most


def selective_scan(dt, u, b, c, a, resets, h0, chunk_size: int = 16, native: bool = True):
    """Outputs `y [T, B..., D]` and the last state `[B..., N, D]` of the recurrence above, in float32.

    Args:
      dt: step sizes `[T, B..., D]` (the decay is `exp(dt A)`).
      u: inputs `[T, B..., D]` (the Euler rule's `dt * x`).
      b, c: input and output vectors `[T, B..., N]`.
      a: `[D, N]` continuous-time decay rates (negative).
      resets: bool `[T, B...]`; True = step t starts a new episode (the carry is dropped before it).
      h0: `[B..., N, D]` incoming state.
      chunk_size: the most steps whose states the backward pass forms at once (the largest divisor of T up to it).
      native: on a CPU, run the hand-written loops of `kernels/native` when they are built (`native_available`);
        False, or without them, runs the XLA loops below.
    """
    dt, u, b, c, a, h0 = (v.astype(jnp.float32) for v in (dt, u, b, c, a, h0))
    use_native = native and native_available()
    if dt.shape[0] == 1 and not use_native:  # acting: one step needs no loop
        y, last = selective_step(dt[0], u[0], b[0], c[0], a, resets[0], h0, native=False)
        return y[None], last
    length, width, size = dt.shape[0], dt.shape[-1], b.shape[-1]
    rows = lambda v: v.reshape(length, -1, v.shape[-1])  # batch axes flattened: [T, B, last]
    columns = lambda v: rows(v)[..., None]  # [T, B, N, 1]: broadcast along D
    chunk = largest_divisor_at_most(length, chunk_size)
    y, last = _scan(chunk, use_native, rows(dt), rows(u), columns(b), columns(c), a.T[None],
                    resets.reshape(length, -1, 1, 1), h0.reshape(-1, size, width))
    return y.reshape(dt.shape), last.reshape(h0.shape)


def selective_step(dt, u, b, c, a, reset, h0, native: bool = True):
    """One step of the recurrence above, for acting: (y [B..., D], h [B..., N, D]); shapes as `selective_scan`'s
    without T. With the native kernel it is that kernel's forward pass at T = 1 (a 2-layer rollout of 128 steps x
    32 envs took 28 ms that way, 33 ms with the XLA version below)."""
    if native and native_available():
        y, h = selective_scan(dt[None], u[None], b[None], c[None], a, reset[None], h0, native=True)
        return y[0], h
    decayed = jnp.where(reset[..., None, None], 0.0, jnp.exp(dt[..., None, :] * a.T) * h0)
    h = decayed + u[..., None, :] * b[..., None]
    return jnp.einsum("...nd,...n->...d", h, c), h


def _chunk_decays(dt, a, resets):
    """`[L, B, N, D]` decays of one chunk, exp(dt_t A), zero at reset steps: one vectorised `exp` per chunk."""
    return jnp.where(resets, 0.0, jnp.exp(dt[:, :, None] * a))


def _next_state(h, decay_t, u_t, b_t):
    """h_t from h_{t-1} on `[B, N, D]`; the forward pass and the backward pass's recompute share it."""
    return decay_t * h + u_t[:, None] * b_t


def _forward(chunk, dt, u, b, c, a, resets, h0):
    """(y [T, B, D], last state, the state entering each chunk [T / L, B, N, D])."""

    def run_chunk(h, inputs):
        dt_c, u_c, b_c, c_c, resets_c = inputs

        def step(h, step_inputs):
            decay_t, u_t, b_t, c_t = step_inputs
            h = _next_state(h, decay_t, u_t, b_t)
            return h, (h * c_t).sum(1)

        last, y = lax.scan(step, h, (_chunk_decays(dt_c, a, resets_c), u_c, b_c, c_c))
        return last, (y, h)

    last, (y, entering) = lax.scan(run_chunk, h0, in_chunks(chunk, dt, u, b, c, resets))
    return y.reshape((-1,) + y.shape[2:]), last, entering


def native_available() -> bool:
    """True when the hand-written CPU loops (`kernels/native`) are built and this process computes on a CPU."""
    return jax.default_backend() == "cpu" and native_kernels.available()


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _scan(chunk, use_native, dt, u, b, c, a, resets, h0):
    return _scan_fwd(chunk, use_native, dt, u, b, c, a, resets, h0)[0]


def _scan_fwd(chunk, use_native, dt, u, b, c, a, resets, h0):
    forward = _native_forward if use_native else _forward
    y, last, entering = sequential_vmap(functools.partial(forward, chunk))(dt, u, b, c, a, resets, h0)
    return (y, last), (dt, u, b, c, a, resets, entering)


def _scan_bwd(chunk, use_native, residuals, cotangents):
    backward = _native_backward if use_native else _backward
    return sequential_vmap(functools.partial(backward, chunk))(*residuals, *cotangents)


# The native loops take the arrays without the broadcasting axes the XLA loops use: b, c [T, B, N], A [N, D],
# resets [T, B].
def _native_forward(chunk, dt, u, b, c, a, resets, h0):
    """`_forward` by the hand-written loop: (y, last state, the state entering each chunk)."""
    length, batch, width = dt.shape
    size = b.shape[2]
    shapes = (jax.ShapeDtypeStruct(dt.shape, jnp.float32), jax.ShapeDtypeStruct(h0.shape, jnp.float32),
              jax.ShapeDtypeStruct((-(-length // chunk), batch, size, width), jnp.float32))
    return jax.ffi.ffi_call(native_kernels.FORWARD_TARGET, shapes)(
        dt, u, b[..., 0], c[..., 0], a[0], resets[:, :, 0, 0], h0, chunk=np.int64(chunk))


def _native_backward(chunk, dt, u, b, c, a, resets, entering, dy, dlast):
    """`_backward` by the hand-written loop."""
    shapes = tuple(jax.ShapeDtypeStruct(shape, jnp.float32)
                   for shape in (dt.shape, u.shape, b.shape[:3], c.shape[:3], a.shape[1:], dlast.shape))
    grad_dt, grad_u, grad_b, grad_c, grad_a, grad_h0 = jax.ffi.ffi_call(native_kernels.BACKWARD_TARGET, shapes)(
        dt, u, b[..., 0], c[..., 0], a[0], resets[:, :, 0, 0], entering, dy, dlast, chunk=np.int64(chunk))
    return grad_dt, grad_u, grad_b[..., None], grad_c[..., None], grad_a[None], None, grad_h0


def _backward(chunk, dt, u, b, c, a, resets, entering, dy, dlast):
    """Cotangents of (dt, u, b, c, a, resets, h0), chunk by chunk from the end."""

    def chunk_backward(carry, inputs):
        dt_c, u_c, b_c, c_c, resets_c, dy_c, h_in = inputs
        decay = _chunk_decays(dt_c, a, resets_c)
        h_last, previous = _states(decay, u_c, b_c, h_in)
        carry, (lam, grad_dt, grad_u) = _adjoint(decay, dy_c, c_c, previous, dt_c, b_c, a, carry)
        # C_t's gradient pairs h_t with dy_t. h_t is previous[t + 1] (h_last at the end): shifting dy by one step
        # instead of the states by one avoids copying the chunk's states.
        dy_before = jnp.concatenate([jnp.zeros_like(dy_c[:1]), dy_c[:-1]])
        grad_c = jnp.concatenate([_contract_width(previous, dy_before)[1:], _contract_width(h_last[None], dy_c[-1:])])
        return carry, (grad_dt, grad_u, _contract_width(lam, u_c), grad_c)

    # `flow` is the adjoint handed from step t to step t-1, (1 - r_t) exp(dt_t A) lam_t; at the end, d loss / d h0.
    # A's gradient is summed over time into a [B, N, D] carry and over the batch at the end.
    inputs = in_chunks(chunk, dt, u, b, c, resets, dy) + (entering,)
    (grad_h0, grad_a), grads = lax.scan(chunk_backward, (dlast, jnp.zeros_like(dlast)), inputs, reverse=True)
    grad_dt, grad_u, grad_b, grad_c = (g.reshape((-1,) + g.shape[2:]) for g in grads)
    return grad_dt, grad_u, grad_b, grad_c, grad_a.sum(0)[None], None, grad_h0


def _sum_over_states(x):
    """`[B, N, D] -> [B, D]`, as N row additions: XLA's CPU reduction over the N axis ran 3x slower."""
    return functools.reduce(jnp.add, (x[:, n] for n in range(x.shape[1])))


def _contract_width(x, y):
    """`sum_d x[l, b, n, d] y[l, b, d]` as `[L, B, N, 1]`."""
    return jnp.einsum("lbnd,lbd->lbn", x, y)[..., None]


def _states(decay, u, b, h_in):
    """One chunk's states again, from the state that entered it: (last state, the state before each step)."""

    def step(h, inputs):
        return _next_state(h, *inputs), h

    return lax.scan(step, h_in, (decay, u, b))


def _adjoint(decay, dy, c, previous, dt, b, a, carry):
    """The adjoint recurrence through one chunk, backwards, with the gradients that sum over N read off each step.

    carry: (flow into the chunk's last step, A's gradient so far [B, N, D]). Returns (the carry out of its first
    step, (lam_t [L, B, N, D], dt's gradient [L, B, D], u's gradient [L, B, D])).
    """

    def step(carry, inputs):
        flow, grad_a = carry
        decay_t, dy_t, c_t, previous_t, dt_t, b_t = inputs
        lam = dy_t[:, None] * c_t + flow  # d loss / d h_t
        flow = decay_t * lam
        grad_log_decay = flow * previous_t  # d loss / d (dt_t A)
        grad_a = grad_a + grad_log_decay * dt_t[:, None]
        return (flow, grad_a), (lam, _sum_over_states(grad_log_decay * a), _sum_over_states(lam * b_t))

    return lax.scan(step, carry, (decay, dy, c, previous, dt, b), reverse=True)


_scan.defvjp(_scan_fwd, _scan_bwd)
