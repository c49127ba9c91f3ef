"""The diagonal linear recurrence every SSM layer sits on, with episode resets.

    h_t = (1 - r_t) * a_t * h_{t-1} + b_t,      h_{-1} = h0 (zeros if None)

`r_t = True` marks step t as the first step of a new episode: the carry is dropped *before* input t is absorbed.
Resets are handled in the masked-decay form: `a~_t = where(r_t, 0, a_t)` and the plain recurrence
is run; a zero decay cuts all dependence on the left, so every back-end needs only the 2-tuple operator. The
carry is folded into the first input (`b_0 += a~_0 * h0`) instead of being prepended as an extra element.

Back-ends (all compute the same numbers; pick with `method`):
- "sequential": `lax.scan` over t. The test oracle, and the fastest on CPU (`kernels` suite). Its backward pass is
                written by hand (the adjoint recurrence run backwards, then one reduction for the decay's gradient).
- "parallel":   `lax.associative_scan` over t; O(log T) depth for accelerators.
- "chunked":    associative scan inside chunks of `chunk_size`, a sequential scan across chunk carries, then a
                fix-up. Bounds the associative scan's depth and temporaries for very long T.
- "auto":       `default_method()`: the env var KERNELS_RECURRENCE_METHOD or `set_default_method(...)` if set,
                else sequential on CPU and parallel on GPU/TPU.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
from jax import lax

METHODS = ("sequential", "parallel", "chunked")
DEFAULT_CHUNK_SIZE = 128
ENV_VAR = "KERNELS_RECURRENCE_METHOD"

_override: str | None = None


def set_default_method(method: str | None) -> None:
    """Force what `method="auto"` means in this process (None restores the backend-based choice)."""
    global _override
    if method is not None and method not in METHODS:
        raise ValueError(f"unknown recurrence method {method!r}; valid: {METHODS}")
    _override = method


def default_method(backend: str | None = None) -> str:
    """The back-end `method="auto"` resolves to: override, then env var, then the backend's measured winner.

    On CPU a sequential scan beats the associative one 2-13x (measured by `scripts/benchmark.py kernels`);
    accelerators want the O(log T)-depth associative scan.
    """
    if _override is not None:
        return _override
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        if from_env not in METHODS:
            raise ValueError(f"{ENV_VAR}={from_env!r} is not one of {METHODS}")
        return from_env
    backend = backend or jax.default_backend()
    return "sequential" if backend == "cpu" else "parallel"


def linear_recurrence(
    a: jax.Array,
    b: jax.Array,
    resets: jax.Array | None = None,
    h0: jax.Array | None = None,
    *,
    method: str = "auto",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> jax.Array:
    """All states of `h_t = (1 - r_t) a_t h_{t-1} + b_t`.

    Args:
      a: decays, broadcastable to `b` (e.g. `[N]` for a time-invariant system, or `[T, ..., N]`).
      b: inputs `[T, ..., N]`, real or complex.
      resets: bool `[T, ...]`, broadcastable to b's shape without the last axis; True = step t starts a new episode.
      h0: incoming carry `[..., N]`; zeros if None.
      method: "sequential", "parallel", "chunked" or "auto".
      chunk_size: chunk length for "chunked".
    Returns:
      states `[T, ..., N]` with b's shape and the promoted dtype of (a, b, h0).
    """
    dtype = jnp.result_type(a, b) if h0 is None else jnp.result_type(a, b, h0)
    a, b = a.astype(dtype), b.astype(dtype)
    a = _left_pad_dims(a, b.ndim)
    if resets is not None and (resets.ndim != b.ndim - 1 or _broadcast(resets.shape, b.shape[:-1]) != b.shape[:-1]):
        raise ValueError(f"resets shape {resets.shape} must broadcast to b's shape without its last axis "
                         f"{b.shape[:-1]}")
    if h0 is not None and h0.shape != b.shape[1:]:
        raise ValueError(f"h0 shape {h0.shape} must equal b's shape without its time axis {b.shape[1:]}")

    method = default_method() if method == "auto" else method
    if method == "sequential":
        return _sequential(a, b, resets, h0)
    if method not in METHODS:
        raise ValueError(f"unknown recurrence method {method!r}; valid: {METHODS + ('auto',)}")
    a_masked = _masked_decay(a, b.shape, resets)
    b = _fold_in_carry(a_masked, b, h0)
    if method == "parallel":
        return _parallel(a_masked, b)
    return _chunked(a_masked, b, chunk_size)


def largest_divisor_at_most(length: int, limit: int) -> int:
    """A chunk length for a sequence of `length` steps: its largest divisor not above `limit` (1 for a prime)."""
    return max(d for d in range(1, min(length, max(limit, 1)) + 1) if length % d == 0)


def in_chunks(chunk: int, *arrays: jax.Array) -> tuple[jax.Array, ...]:
    """Each `[T, ...]` array as `[T / chunk, chunk, ...]`, for a scan over chunks (`chunk` divides T)."""
    return tuple(v.reshape((v.shape[0] // chunk, chunk) + v.shape[1:]) for v in arrays)


def _broadcast(shape_a, shape_b):
    try:
        return jnp.broadcast_shapes(shape_a, shape_b)
    except ValueError:
        return None


def _left_pad_dims(a: jax.Array, ndim: int) -> jax.Array:
    return a.reshape((1,) * (ndim - a.ndim) + a.shape)


def _masked_decay(a: jax.Array, shape: tuple[int, ...], resets: jax.Array | None) -> jax.Array:
    """`where(r_t, 0, a_t)` broadcast to `[T, ..., N]`."""
    a = jnp.broadcast_to(a, shape)
    if resets is None:
        return a
    return jnp.where(resets[..., None], jnp.zeros((), a.dtype), a)


def _fold_in_carry(a_masked: jax.Array, b: jax.Array, h0: jax.Array | None) -> jax.Array:
    """`b_0 += a~_0 h0`, so the scans can start from zero."""
    if h0 is None:
        return b
    return b.at[0].add(a_masked[0] * h0)


def _sequential(a: jax.Array, b: jax.Array, resets: jax.Array | None, h0: jax.Array | None) -> jax.Array:
    h0 = jnp.zeros(b.shape[1:], b.dtype) if h0 is None else jnp.broadcast_to(h0, b.shape[1:]).astype(b.dtype)
    return _sequential_scan(a, b, resets, h0)


def _scan_states(a, b, resets, h, reverse=False):
    """`h_t = where(r_t, 0, a_t h_{t-1}) + b_t` over t with `lax.scan` (reverse: t from the end)."""
    # A time-invariant decay (leading axis 1) stays a loop constant instead of a [T, ..., N] array in memory.
    time_invariant = a.shape[0] == 1 and b.shape[0] != 1
    a_const = a[0] if time_invariant else None
    zero = jnp.zeros((), b.dtype)

    def step(h, inputs):
        a_t, b_t, r_t = inputs
        a_t = a_const if time_invariant else a_t
        decayed = a_t * h if r_t is None else jnp.where(r_t[..., None], zero, a_t * h)
        h = decayed + b_t
        return h, h

    xs = (None if time_invariant else a, b, resets)
    return lax.scan(step, h, xs, reverse=reverse)[1]


@jax.custom_vjp
def _sequential_scan(a, b, resets, h0):
    return _scan_states(a, b, resets, h0)


def _sequential_scan_fwd(a, b, resets, h0):
    states = _scan_states(a, b, resets, h0)
    return states, (a, states, resets, h0)


def _sequential_scan_bwd(residuals, g):
    """The adjoint is the same recurrence run backwards; the decay's gradient is one reduction after it.

    Autodiff of the scan would instead accumulate a time-invariant decay's gradient inside the loop, one
    read-modify-write of the accumulator per step. JAX's complex convention (transpose, no conjugate) holds.
    """
    a, states, resets, h0 = residuals
    length = states.shape[0]
    # Step t's adjoint takes nothing from t+1 where t+1 starts an episode, nor past the end.
    flags = jnp.zeros((length, *(1,) * (states.ndim - 2)), bool) if resets is None else resets
    next_resets = jnp.concatenate([flags[1:], jnp.ones_like(flags[:1])])
    time_invariant = a.shape[0] == 1 and length != 1
    a_next = a if time_invariant else jnp.concatenate([a[1:], jnp.zeros_like(a[:1])])
    adjoint = _scan_states(a_next, g, next_resets, jnp.zeros_like(h0), reverse=True)
    previous = jnp.concatenate([h0[None], states[:-1]])
    if resets is not None:
        previous = jnp.where(resets[..., None], jnp.zeros((), previous.dtype), previous)
    grad_a = _sum_to_shape(previous * adjoint, a.shape)
    a0 = jnp.broadcast_to(a[0], h0.shape)
    grad_h0 = a0 * adjoint[0] if resets is None else jnp.where(resets[0][..., None], 0, a0 * adjoint[0])
    return grad_a, adjoint, None, grad_h0


_sequential_scan.defvjp(_sequential_scan_fwd, _sequential_scan_bwd)


def _sum_to_shape(x: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Sum `x` over the axes where `shape` was broadcast (size 1), back to `shape`."""
    axes = tuple(i for i, (n, m) in enumerate(zip(shape, x.shape)) if n == 1 and m != 1)
    return jnp.sum(x, axis=axes, keepdims=True).reshape(shape)


def _combine(left: tuple[jax.Array, jax.Array], right: tuple[jax.Array, jax.Array]):
    """(a_i, b_i) then (a_j, b_j) = (a_j a_i, a_j b_i + b_j): composition of affine maps."""
    a_i, b_i = left
    a_j, b_j = right
    return a_j * a_i, a_j * b_i + b_j


def _parallel(a_masked: jax.Array, b: jax.Array) -> jax.Array:
    _, states = lax.associative_scan(_combine, (a_masked, b), axis=0)
    return states


def _chunked(a_masked: jax.Array, b: jax.Array, chunk_size: int) -> jax.Array:
    """Associative scan within chunks, sequential scan over the chunk carries, then a fix-up."""
    length = b.shape[0]
    chunk_size = max(1, min(chunk_size, length))
    num_chunks = -(-length // chunk_size)
    pad = num_chunks * chunk_size - length
    if pad:
        # Identity elements (a=1, b=0) at the end leave every real state unchanged; they are trimmed below.
        a_masked = jnp.concatenate([a_masked, jnp.ones((pad,) + a_masked.shape[1:], a_masked.dtype)])
        b = jnp.concatenate([b, jnp.zeros((pad,) + b.shape[1:], b.dtype)])
    chunked_shape = (num_chunks, chunk_size) + b.shape[1:]
    a_masked, b = a_masked.reshape(chunked_shape), b.reshape(chunked_shape)

    # 1. every chunk from a zero carry; decay_prod[j, i] = prod_{k<=i} a[j, k] (zero after a reset).
    decay_prod, local = lax.associative_scan(_combine, (a_masked, b), axis=1)

    # 2. carry entering each chunk: s[j] = A[j, c-1] s[j-1] + y[j, c-1], s[-1] = 0 (h0 is already in b_0).
    def carry_step(s, chunk_end):
        decay_end, local_end = chunk_end
        s_next = decay_end * s + local_end
        return s_next, s

    _, carries_in = lax.scan(carry_step, jnp.zeros_like(b[0, 0]), (decay_prod[:, -1], local[:, -1]))

    # 3. fix-up with the carry that entered the chunk.
    states = local + decay_prod * carries_in[:, None]
    return states.reshape((-1,) + b.shape[2:])[:length]


def complex_pair_recurrence(
    a: jax.Array, b: jax.Array, resets: jax.Array | None = None, h0: jax.Array | None = None
) -> jax.Array:
    """The time-invariant complex recurrence `h_t = (1 - r_t) a h_{t-1} + b_t` on real (re, im) halves.

    The `pairs` complex mode: every array is f32 with its last axis `[re | im]` (width 2P), and the
    complex multiply is written out. Sequential scan (the CPU back-end), with a hand-written backward pass: the
    adjoint is the same recurrence run backwards with conj(a), and the gradient of `a` is one reduction after it
    instead of a per-step accumulation inside the loop.

    Args:
      a: `[2P]` decay (re | im), the same at every step.
      b: `[T, ..., 2P]` inputs.
      resets: bool `[T, ...]`; True = step t starts a new episode. None = no boundaries.
      h0: `[..., 2P]` incoming carry; zeros if None.
    Returns:
      states `[T, ..., 2P]`.
    """
    if resets is None:
        resets = jnp.zeros(b.shape[:-1], bool)
    if h0 is None:
        h0 = jnp.zeros(b.shape[1:], b.dtype)
    return _pair_recurrence(a, b, resets, h0)


def _pair_scan(a_re, a_im, b, resets, h0, reverse=False):
    """`h_t = where(r_t, 0, a h_{t-1}) + b_t` over t (reverse: t from the end) on [re | im] halves.

    The states overwrite `b` in place (a loop-carried buffer): a `lax.scan` would first fill a fresh `[T, ..., 2P]`
    output with zeros, which on CPU cost about as much as the recurrence itself.
    """
    p = a_re.shape[-1]
    length = b.shape[0]

    def step(i, loop):
        h_re, h_im, buf = loop
        t = length - 1 - i if reverse else i
        b_t = lax.dynamic_index_in_dim(buf, t, keepdims=False)
        keep = jnp.logical_not(lax.dynamic_index_in_dim(resets, t, keepdims=False))[..., None]
        h_re, h_im = (jnp.where(keep, a_re * h_re - a_im * h_im, 0.0) + b_t[..., :p],
                      jnp.where(keep, a_re * h_im + a_im * h_re, 0.0) + b_t[..., p:])
        buf = lax.dynamic_update_index_in_dim(buf, jnp.concatenate([h_re, h_im], -1), t, 0)
        return h_re, h_im, buf

    return lax.fori_loop(0, length, step, (h0[..., :p], h0[..., p:], b))[2]


@jax.custom_vjp
def _pair_recurrence(a, b, resets, h0):
    p = a.shape[-1] // 2
    return _pair_scan(a[:p], a[p:], b, resets, h0)


def _pair_recurrence_fwd(a, b, resets, h0):
    states = _pair_recurrence(a, b, resets, h0)
    return states, (a, states, resets, h0)


def _pair_recurrence_bwd(residuals, g):
    a, states, resets, h0 = residuals
    p = a.shape[-1] // 2
    # Adjoint: lam_t = g_t + (1 - r_{t+1}) conj(a) lam_{t+1}, run from the end.
    next_resets = jnp.concatenate([resets[1:], jnp.ones_like(resets[:1])])
    adjoint = _pair_scan(a[:p], -a[p:], g, next_resets, jnp.zeros_like(h0), reverse=True)
    keep = jnp.logical_not(resets)[..., None]
    previous = jnp.where(keep, jnp.concatenate([h0[None], states[:-1]]), 0.0)  # h_{t-1}, cut at resets
    prev_re, prev_im = previous[..., :p], previous[..., p:]
    adj_re, adj_im = adjoint[..., :p], adjoint[..., p:]
    axes = tuple(range(states.ndim - 1))
    # d a = sum_t conj(h_{t-1}) lam_t;  d h0 = (1 - r_0) conj(a) lam_0.
    grad_a = jnp.concatenate([(prev_re * adj_re + prev_im * adj_im).sum(axes),
                              (prev_re * adj_im - prev_im * adj_re).sum(axes)])
    lam0_re, lam0_im = adj_re[0], adj_im[0]
    grad_h0 = jnp.where(keep[0], jnp.concatenate([a[:p] * lam0_re + a[p:] * lam0_im,
                                                  a[:p] * lam0_im - a[p:] * lam0_re], -1), 0.0)
    return grad_a, adjoint, None, grad_h0


_pair_recurrence.defvjp(_pair_recurrence_fwd, _pair_recurrence_bwd)
