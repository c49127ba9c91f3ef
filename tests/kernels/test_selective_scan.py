"""The selective layer's fused CPU loop (`kernels.selective_scan`) against its chunked form and under `vmap`.

`test_kernels_fused.py` checks the fused loop (the CPU default) against a per-step reference; here the chunked
form it replaced (`fused=False`) is held to the same reference, and the loop's `sequential_vmap` path, which PPO
takes when it trains several seeds at once, is checked against one call per mapped element.
"""

import jax
import jax.numpy as jnp
import pytest

from tests.kernels.test_kernels_fused import assert_close, make_case


def loss_of(cell, resets, target):
    def loss(params, carry, xs):
        last, ys = cell.scan(params, carry, xs, resets)
        return jnp.mean((ys - target) ** 2) + sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(last))

    return loss


@pytest.mark.parametrize("method", ["sequential", "parallel"])
def test_chunked_form_equals_per_step_reference(method):
    cell, params, carry, xs, resets, reference = make_case("selective", 24, fused=False, method=method)
    assert_close(jax.jit(cell.scan)(params, carry, xs, resets), reference(cell, params, carry, xs, resets))


def test_fused_and_chunked_gradients_agree():
    fused, params, carry, xs, resets, _ = make_case("selective", 24)
    chunked = make_case("selective", 24, fused=False)[0]
    target = jax.random.normal(jax.random.PRNGKey(5), xs.shape)
    argnums = (0, 1, 2)
    assert_close(jax.jit(jax.grad(loss_of(fused, resets, target), argnums))(params, carry, xs),
                 jax.jit(jax.grad(loss_of(chunked, resets, target), argnums))(params, carry, xs), tol=1e-4)


@pytest.mark.parametrize("seeds", [1, 2])
def test_vmap_equals_one_call_per_element(seeds):
    """Outputs and gradients of the layer mapped over `seeds` stacked inputs equal the unmapped calls'."""
    cell, params, carry, xs, resets, _ = make_case("selective", 24)
    keys = jax.random.split(jax.random.PRNGKey(7), seeds)
    stacked_xs = jnp.stack([xs + jax.random.normal(k, xs.shape) for k in keys])
    target = jax.random.normal(jax.random.PRNGKey(5), xs.shape)
    loss = loss_of(cell, resets, target)
    value_and_grad = jax.value_and_grad(loss, argnums=(0, 2))
    mapped = jax.jit(jax.vmap(value_and_grad, in_axes=(None, None, 0)))(params, carry, stacked_xs)
    for seed in range(seeds):
        expected = jax.jit(value_and_grad)(params, carry, stacked_xs[seed])
        assert_close(jax.tree.map(lambda leaf, seed=seed: leaf[seed], mapped), expected, tol=1e-4)
    # The forward pass alone (no gradient) takes the primal path of the same loop.
    last, ys = jax.jit(jax.vmap(lambda x: cell.scan(params, carry, x, resets)))(stacked_xs)
    assert_close((jax.tree.map(lambda leaf: leaf[-1], last), ys[-1]),
                 jax.jit(cell.scan)(params, carry, stacked_xs[-1], resets))
