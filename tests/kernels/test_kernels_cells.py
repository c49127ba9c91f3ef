"""The memory-cell contract (kernels/cell.py) for every cell: step = scan, split = whole, resets forget.

Every cell is built once per module (functools.cache) with two compiled scan lengths (T and T/2) and one
compiled step, which all the tests share: the compile time is the test time.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kernels

T, HALF, BATCH, IN_DIM = 12, 6, 3, 5
TOL = 1e-5
CASES = {
    "s5": ("s5", dict(hidden_size=8, ssm_size=8)),
    "s5_parallel_bilinear_clip": (
        "s5", dict(hidden_size=8, ssm_size=8, method="parallel", discretisation="bilinear",
                   eigenvalue_constraint="clip", activation="half_glu"),
    ),
    "s4d": ("s4d", dict(hidden_size=8, num_modes=4)),
    "selective": ("selective", dict(hidden_size=8, state_size=4)),
    "gru": ("gru", dict(hidden_size=8)),
    "lstm": ("lstm", dict(hidden_size=8)),
    "none": ("none", {}),
    "s5_two_layers": ("s5", dict(hidden_size=8, ssm_size=8, num_layers=2)),
    "lstm_two_layers": ("lstm", dict(hidden_size=8, num_layers=2)),
}


class Harness:
    """A cell with params, jitted scan/step and shared random inputs."""

    def __init__(self, name, options):
        self.cell = kernels.make_memory(name, **options)
        keys = jax.random.split(jax.random.PRNGKey(0), 4)
        self.params = jax.jit(self.cell.init, static_argnums=1)(keys[0], IN_DIM)  # eagerly: a compile per op
        self.scan = jax.jit(self.cell.scan)
        self.step = jax.jit(self.cell.step)
        self.xs = jax.random.normal(keys[1], (T, BATCH, IN_DIM))
        self.resets = jax.random.bernoulli(keys[2], 0.2, (T, BATCH))
        self.initial = self.cell.initialize_carry((BATCH,))
        # A non-zero incoming carry: whatever a warm-up sequence leaves behind.
        warmup = jax.random.normal(keys[3], (T, BATCH, IN_DIM))
        self.carry, _ = self.scan(self.params, self.initial, warmup, jnp.zeros((T, BATCH), bool))


@functools.cache
def harness(case):
    return Harness(*CASES[case])


def relative_error(x, ref):
    x, ref = np.asarray(x, np.complex128), np.asarray(ref, np.complex128)
    return float(np.max(np.abs(x - ref)) / max(np.max(np.abs(ref)), 1e-12)) if ref.size else 0.0


def assert_trees_close(tree, ref, tol=TOL):
    leaves, ref_leaves = jax.tree.leaves(tree), jax.tree.leaves(ref)
    assert len(leaves) == len(ref_leaves)
    for leaf, ref_leaf in zip(leaves, ref_leaves):
        assert leaf.shape == ref_leaf.shape and leaf.dtype == ref_leaf.dtype
        assert relative_error(leaf, ref_leaf) < tol, relative_error(leaf, ref_leaf)


@pytest.mark.parametrize("case", CASES)
def test_step_by_step_equals_scan(case):
    h = harness(case)
    resets = h.resets.at[0, 0].set(True)
    carry, ys = h.scan(h.params, h.carry, h.xs, resets)
    step_carry, step_ys = h.carry, []
    for t in range(T):
        step_carry, y = h.step(h.params, step_carry, h.xs[t], resets[t])
        step_ys.append(y)
    assert ys.shape == (T, BATCH, h.cell.hidden_size or IN_DIM)
    assert_trees_close(jnp.stack(step_ys), ys)
    assert_trees_close(step_carry, carry)


@pytest.mark.parametrize("case", CASES)
def test_scan_split_in_two_equals_scan_whole(case):
    h = harness(case)
    carry, ys = h.scan(h.params, h.carry, h.xs, h.resets)
    mid_carry, ys_first = h.scan(h.params, h.carry, h.xs[:HALF], h.resets[:HALF])
    split_carry, ys_second = h.scan(h.params, mid_carry, h.xs[HALF:], h.resets[HALF:])
    assert_trees_close(jnp.concatenate([ys_first, ys_second]), ys)
    assert_trees_close(split_carry, carry)


@pytest.mark.parametrize("case", CASES)
def test_after_a_reset_outputs_equal_a_fresh_sequence(case):
    h = harness(case)
    resets = h.resets.at[HALF].set(True)
    _, ys = h.scan(h.params, h.carry, h.xs, resets)
    _, fresh = h.scan(h.params, h.initial, h.xs[HALF:], resets[HALF:])
    assert_trees_close(ys[HALF:], fresh)

    # Nothing from before the reset reaches the outputs after it: those gradients are exactly zero.
    def after_reset(xs, carry):
        return jnp.sum(h.cell.scan(h.params, carry, xs, resets)[1][HALF:] ** 2)

    grad_xs, grad_carry = jax.jit(jax.grad(after_reset, argnums=(0, 1)))(h.xs, h.carry)
    assert jnp.all(grad_xs[:HALF] == 0)
    assert all(jnp.all(g == 0) for g in jax.tree.leaves(grad_carry))
    if case != "none":
        assert jnp.any(grad_xs[HALF:] != 0)


def test_a_scan_that_ignores_resets_is_caught():
    """Negative control: dropping the resets must visibly break the fresh-sequence equality."""
    h = harness("s5")
    resets = h.resets.at[HALF].set(True)
    _, leaky = h.scan(h.params, h.carry, h.xs, jnp.zeros_like(resets))
    _, fresh = h.scan(h.params, h.initial, h.xs[HALF:], resets[HALF:])
    assert relative_error(leaky[HALF:], fresh) > 1e-2


def test_make_memory_errors_list_valid_names():
    with pytest.raises(ValueError, match="s5, s4d, selective, gru, lstm, none"):
        kernels.make_memory("transformer")
    with pytest.raises(ValueError, match="no option"):
        kernels.make_memory("gru", ssm_size=4)
