"""The selective scan's hand-written CPU kernel (`kernels/native`) against the same recurrence as XLA loops.

Both directions are compared on every input's gradient, at shapes that take each path of the kernel: a chunk
shorter than T (the backward pass recomputes states from each chunk's entering state), channels past the last
full vector (they run one at a time), several batch axes, resets, a non-zero incoming state, and T = 1 (the
acting step).
"""

import jax
import jax.numpy as jnp
import pytest

from kernels.native import build
from kernels.selective_scan import native_available, selective_scan, selective_step
from tests.kernels.test_kernels_fused import assert_close


def test_kernel_is_built_wherever_a_compiler_is():
    """`make install` builds the library; a machine with a C++ compiler must not fall back to the XLA loops."""
    assert build.compiler() is None or native_available()


needs_kernel = pytest.mark.skipif(not native_available(), reason="no C++ compiler: the native kernel is not built")


def make_inputs(length, batch_shape, width, states, seed=0):
    keys = jax.random.split(jax.random.PRNGKey(seed), 8)
    dt = jax.nn.softplus(jax.random.normal(keys[0], (length, *batch_shape, width)) - 2.0)
    u = dt * jax.random.normal(keys[1], dt.shape)
    b = jax.random.normal(keys[2], (length, *batch_shape, states))
    c = jax.random.normal(keys[3], b.shape)
    a = -jnp.exp(jax.random.normal(keys[4], (width, states)))
    resets = jax.random.uniform(keys[5], (length, *batch_shape)) < 0.15
    h0 = jax.random.normal(keys[6], (*batch_shape, states, width))
    return dt, u, b, c, a, resets, h0


def outputs_and_gradients(native, dt, u, b, c, a, resets, h0, chunk_size):
    def loss(dt, u, b, c, a, h0):
        y, last = selective_scan(dt, u, b, c, a, resets, h0, chunk_size, native)
        weights = jnp.cos(jnp.arange(y.size, dtype=jnp.float32)).reshape(y.shape)
        return jnp.sum(y * weights) + jnp.sum(jnp.sin(last))

    run = jax.jit(lambda *args: (selective_scan(*args[:5], resets, args[5], chunk_size, native),
                                 jax.grad(loss, argnums=tuple(range(6)))(*args)))
    return run(dt, u, b, c, a, h0)


@needs_kernel
@pytest.mark.parametrize(
    "length, batch_shape, width, states, chunk_size",
    [(24, (3,), 20, 4, 16),  # chunks of 12; one vector of 16 channels and 4 single ones
     (16, (2, 2), 32, 16, 16),  # two batch axes, one chunk
     (13, (2,), 16, 3, 4),  # prime T: chunks of one step
     (1, (5,), 17, 3, 16)])  # the acting step
def test_native_equals_xla_loops(length, batch_shape, width, states, chunk_size):
    inputs = make_inputs(length, batch_shape, width, states)
    assert_close(outputs_and_gradients(True, *inputs, chunk_size),
                 outputs_and_gradients(False, *inputs, chunk_size), tol=5e-5)


@needs_kernel
def test_native_step_equals_xla_step():
    dt, u, b, c, a, resets, h0 = make_inputs(1, (6,), 24, 5)
    step_inputs = (dt[0], u[0], b[0], c[0], a, resets[0], h0)  # the per-step arrays without their T axis
    assert_close(jax.jit(lambda *x: selective_step(*x, native=True))(*step_inputs),
                 jax.jit(lambda *x: selective_step(*x, native=False))(*step_inputs))


@needs_kernel
def test_native_under_vmap_equals_one_call_per_element():
    """PPO maps training over seeds; the kernel then runs once per mapped element (`sequential_vmap`)."""
    per_seed = [make_inputs(8, (3,), 16, 4, seed) for seed in range(2)]
    stacked = [jnp.stack(leaves) for leaves in zip(*per_seed)]
    mapped = jax.jit(jax.vmap(lambda *x: selective_scan(*x, chunk_size=4)))(*stacked)
    for i in range(2):
        assert_close(jax.tree.map(lambda leaf, i=i: leaf[i], mapped),
                     jax.jit(lambda *x: selective_scan(*x, chunk_size=4))(*per_seed[i]))


def test_build_without_a_compiler_says_so_and_leaves_no_library(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(build, "LIBRARY", tmp_path / "libselective_scan.so")
    monkeypatch.setattr(build, "compiler", lambda: None)
    assert build.build(force=True) is False
    assert "no C++ compiler" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_library_that_does_not_load_is_a_clear_error(tmp_path, monkeypatch):
    from kernels import native

    broken = tmp_path / "libselective_scan.so"
    broken.write_bytes(b"not a shared library")
    monkeypatch.setattr(native, "LIBRARY", broken)
    with pytest.raises(RuntimeError, match="rebuild it with"):
        native.available.__wrapped__()


def test_a_failed_build_says_so_and_keeps_the_previous_library(tmp_path, monkeypatch, capsys):
    library = tmp_path / "libselective_scan.so"
    library.write_bytes(b"previous build")
    broken_source = tmp_path / "selective_scan.cc"
    broken_source.write_text("this is not C++\n")
    monkeypatch.setattr(build, "LIBRARY", library)
    monkeypatch.setattr(build, "SOURCE", broken_source)
    if build.compiler() is None:
        pytest.skip("no C++ compiler")
    assert build.build(force=True) is False
    assert "could not build selective_scan.cc" in capsys.readouterr().err
    assert library.read_bytes() == b"previous build"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["libselective_scan.so", "selective_scan.cc"]
