"""The sequential back-end's hand-written backward pass equals autodiff of a plain loop, for every broadcast
layout of the decay and of the resets (none, per env, shared by all envs), real and complex, carry included."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kernels import linear_recurrence

T, B, N = 7, 3, 4


def loop_reference(a, b, resets, h0):
    decay = jnp.broadcast_to(a, (T, B, N))
    keep = jnp.ones((T, B)) if resets is None else 1.0 - jnp.broadcast_to(resets, (T, B))
    h, states = h0, []
    for t in range(T):
        h = keep[t][:, None] * decay[t] * h + b[t]
        states.append(h)
    return jnp.stack(states)


def objective(recurrence, a, b, h0):
    states = recurrence(a, b, h0)
    return jnp.sum(jnp.abs(states) ** 2 + 0.3 * jnp.real(states))


@pytest.mark.parametrize("complex_values", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("a_shape", [(N,), (T, B, N), (T, 1, N)], ids=["invariant", "varying", "shared"])
@pytest.mark.parametrize("reset_shape", [None, (T, B), (T, 1)], ids=["no-resets", "per-env", "shared-resets"])
def test_sequential_gradients_match_a_loop(complex_values, a_shape, reset_shape):
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    a = jax.random.uniform(keys[0], a_shape, minval=0.5, maxval=0.99)
    b = jax.random.normal(keys[1], (T, B, N))
    h0 = jax.random.normal(keys[2], (B, N))
    if complex_values:
        a, b, h0 = a * jnp.exp(0.3j), b * (1 + 0.5j), h0 * (1 + 0.2j)
    resets = None if reset_shape is None else jax.random.bernoulli(keys[3], 0.3, reset_shape)

    ours = lambda a, b, h0: linear_recurrence(a, b, resets, h0, method="sequential")
    reference = lambda a, b, h0: loop_reference(a, b, resets, h0)
    got = jax.jit(jax.grad(lambda *x: objective(ours, *x), argnums=(0, 1, 2)))(a, b, h0)
    want = jax.jit(jax.grad(lambda *x: objective(reference, *x), argnums=(0, 1, 2)))(a, b, h0)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-5)
