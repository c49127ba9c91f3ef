"""linear_recurrence: every back-end equals a plain Python loop, values and gradients, real and complex, resets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kernels import linear_recurrence, recurrence

T, BATCH, N = 37, 3, 4
TOL = 1e-5
METHOD_CASES = [
    ("sequential", {}),
    ("parallel", {}),
    ("chunked", {"chunk_size": 1}),
    ("chunked", {"chunk_size": 7}),
    ("chunked", {"chunk_size": T}),
    ("auto", {}),
]


def relative_error(x, ref):
    """max |x - ref| / max |ref|: scale-aware, and not fooled by entries that decay to ~0."""
    x, ref = np.asarray(x, np.complex128), np.asarray(ref, np.complex128)
    return float(np.max(np.abs(x - ref)) / np.max(np.abs(ref)))


def loop_reference(a, b, resets, h0, weights):
    """Plain float64 Python loops: states h_t = (1 - r_t) a_t h_{t-1} + b_t, and the gradients of
    sum Re(w * h) w.r.t. (a, b, h0) by the adjoint recurrence, in JAX's convention (cotangents are transposed,
    not conjugated, through complex products). `a` is [T, B, N] here.
    """
    a, b, h0, w = (np.asarray(x, np.complex128) for x in (a, b, h0, weights))
    decay = np.where(np.asarray(resets)[..., None], 0.0, a)
    states = np.zeros_like(b)
    h = h0
    for t in range(b.shape[0]):
        h = decay[t] * h + b[t]
        states[t] = h
    grad_a, grad_b = np.zeros_like(a), np.zeros_like(b)
    cotangent = np.zeros_like(h0)
    for t in reversed(range(b.shape[0])):
        cotangent = w[t] + (decay[t + 1] * cotangent if t + 1 < b.shape[0] else 0.0)
        grad_b[t] = cotangent
        previous = states[t - 1] if t > 0 else h0
        grad_a[t] = np.where(np.asarray(resets[t])[..., None], 0.0, cotangent * previous)
    grad_h0 = decay[0] * cotangent
    return states, (grad_a, grad_b, grad_h0)


def lu_reference(a, b, resets, h0):
    """Lu et al. 2023's 3-tuple reset operator run by associative_scan, carry folded into b_0."""
    b = b.at[0].add(jnp.where(resets[0][..., None], 0.0, a[0] * h0))
    d = jnp.broadcast_to(resets[..., None], b.shape)
    _, states, _ = jax.lax.associative_scan(_lu_operator, (a, b, d))
    return states


def _lu_operator(left, right):
    a_i, b_i, d_i = left
    a_j, b_j, d_j = right
    return (jnp.where(d_j, a_j, a_j * a_i), jnp.where(d_j, b_j, a_j * b_i + b_j), d_i | d_j)


def make_inputs(dtype, seed=0, time_invariant=False):
    keys = jax.random.split(jax.random.PRNGKey(seed), 6)
    shape = (T, BATCH, N)
    a_shape = (N,) if time_invariant else shape
    magnitude = jax.random.uniform(keys[0], a_shape, minval=0.5, maxval=0.99)
    b = jax.random.normal(keys[1], shape)
    h0 = jax.random.normal(keys[2], shape[1:])
    if dtype == jnp.complex64:
        phase = jax.random.uniform(keys[3], a_shape, maxval=2 * np.pi)
        a = magnitude * jnp.exp(1j * phase)
        b = b + 1j * jax.random.normal(keys[4], shape)
        h0 = h0 + 1j * h0[::-1]
    else:
        a = magnitude
    resets = jax.random.bernoulli(keys[5], 0.1, shape[:-1])
    return a.astype(dtype), b.astype(dtype), resets, h0.astype(dtype)


def _weights(shape):
    return jnp.cos(jnp.arange(np.prod(shape), dtype=jnp.float32)).reshape(shape)


def _value_and_grads(fn, a, b, h0):
    """States and d(sum w * states)/d(a, b, h0), compiled as one program (eager grads dispatch op by op)."""

    def both(a, b, h0):
        loss = lambda a, b, h0: jnp.sum(jnp.real(_weights(b.shape) * fn(a, b, h0)))
        return fn(a, b, h0), jax.grad(loss, argnums=(0, 1, 2))(a, b, h0)

    return jax.jit(both)(a, b, h0)


@pytest.mark.parametrize("time_invariant", [False, True], ids=["varying_a", "constant_a"])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.complex64], ids=["f32", "c64"])
def test_all_methods_match_python_loop(dtype, time_invariant):
    a, b, resets, h0 = make_inputs(dtype, time_invariant=time_invariant)
    resets = resets.at[0, 0].set(True)  # a forced reset at t=0 must discard h0 for that batch element
    a_full = jnp.broadcast_to(a, b.shape)
    ref_value, ref_grads = loop_reference(a_full, b, resets, h0, _weights(b.shape))
    if time_invariant:  # d/da of a broadcast a sums over the time and batch axes
        ref_grads = (ref_grads[0].sum(axis=(0, 1)),) + ref_grads[1:]
    # A constant a only changes the sequential back-end's code path; the others broadcast it first.
    cases = METHOD_CASES[:2] if time_invariant else METHOD_CASES
    for method, options in cases:
        value, grads = _value_and_grads(
            lambda a, b, h, method=method, options=options: linear_recurrence(a, b, resets, h, method=method,
                                                                              **options), a, b, h0
        )
        label = f"{method} {options}"
        assert relative_error(value, ref_value) < TOL, label
        for name, g, g_ref in zip("a b h0".split(), grads, ref_grads):
            assert g.shape == g_ref.shape, (label, name)
            assert relative_error(g, g_ref) < TOL, (label, name, relative_error(g, g_ref))
        if not time_invariant:  # a reset cuts the decay out of the graph: its gradient is exactly zero
            assert jnp.all(grads[0][resets] == 0), label
    # Lu's 3-tuple operator gives the same states: masked decay is an equivalent, cheaper form.
    assert relative_error(jax.jit(lu_reference)(a_full, b, resets, h0), ref_value) < TOL


def test_lu_operator_is_associative_with_flags():
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    a = jax.random.normal(keys[0], (3, 50))
    b = jax.random.normal(keys[1], (3, 50))
    d = jax.random.bernoulli(keys[2], 0.5, (3, 50))
    x, y, z = [(a[i], b[i], d[i]) for i in range(3)]
    left = _lu_operator(_lu_operator(x, y), z)
    right = _lu_operator(x, _lu_operator(y, z))
    for u, v in zip(left, right):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_no_resets_and_no_carry_defaults():
    a, b, _, _ = make_inputs(jnp.float32, seed=2)
    ref, _ = loop_reference(a, b, jnp.zeros(b.shape[:-1], bool), jnp.zeros(b.shape[1:]), _weights(b.shape))
    for method in ("sequential", "parallel"):
        assert relative_error(linear_recurrence(a, b, method=method), ref) < TOL


def test_auto_follows_override_and_env(monkeypatch):
    assert recurrence.default_method("cpu") == "sequential"
    assert recurrence.default_method("gpu") == "parallel"
    monkeypatch.setenv(recurrence.ENV_VAR, "chunked")
    assert recurrence.default_method("cpu") == "chunked"
    recurrence.set_default_method("parallel")
    try:
        assert recurrence.default_method("cpu") == "parallel"
    finally:
        recurrence.set_default_method(None)
    with pytest.raises(ValueError, match="valid"):
        recurrence.set_default_method("fast")


def test_bad_shapes_are_clear_errors():
    a, b, resets, h0 = make_inputs(jnp.float32)
    with pytest.raises(ValueError, match="resets shape"):
        linear_recurrence(a, b, resets[:, :2], h0)
    with pytest.raises(ValueError, match="h0 shape"):
        linear_recurrence(a, b, resets, h0[:2])
    with pytest.raises(ValueError, match="unknown recurrence method"):
        linear_recurrence(a, b, method="magic")
