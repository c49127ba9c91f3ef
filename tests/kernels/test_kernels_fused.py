"""S4D never forms its per-step states ([T, B, H, N/2]) and the selective layer forms its [T, B, D, N] ones a
chunk at a time; here their outputs, final carries and gradients are checked against a plain per-step recurrence,
on small cases with resets, a carried-in state, and the carry handed on between two halves of a sequence.

Every layer and reference call is jitted: run eagerly, each of their hundred-odd ops was a compile of its own,
which took most of this file's time."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kernels
from kernels import blocks


def s4d_reference(cell, params, carry, xs, resets):
    """The S4D layer as a step-by-step complex recurrence: x_t = (1 - r_t) A_bar x_{t-1} + B_bar u_t."""
    _, a_bar, b_bar = cell.discretise(params["ssm"])
    c = jax.lax.complex(params["C"][..., 0], params["C"][..., 1])

    def mixer(z):
        def step(x, inputs):
            u, r = inputs
            x = jnp.where(r[..., None, None], 0, a_bar * x) + b_bar * u[..., None]
            return x, 2 * jnp.einsum("...hn,hn->...h", x, c).real + params["D"] * u

        return jax.lax.scan(step, carry, (z, resets))

    return blocks.residual_block(params, cell.activation, mixer, xs)


def selective_reference(cell, params, carry, xs, resets):
    """The selective layer with its SSM as a step-by-step recurrence over [B, N, D] states."""

    def ssm(self, params, state, x, resets):
        n, r = self.state_size, self.rank
        projected = x @ params["x_proj"]["kernel"]
        dt_low, b_t, c_t = projected[..., :r], projected[..., r : r + n], projected[..., r + n :]
        dt = jax.nn.softplus(dt_low @ params["dt_proj"]["kernel"] + params["ssm"]["dt_bias"])
        a = -jnp.exp(params["ssm"]["A_log"])

        def step(h, inputs):
            dt_t, x_t, b, c, r_t = inputs
            decayed = jnp.where(r_t[..., None, None], 0, jnp.exp(dt_t[..., None, :] * a.T) * h)
            h = decayed + (dt_t * x_t)[..., None, :] * b[..., None]
            return h, jnp.einsum("...nd,...n->...d", h, c) + params["ssm"]["D"] * x_t

        state, y = jax.lax.scan(step, state, (dt, x, b_t, c_t, resets))
        return y, state

    class Reference(type(cell)):
        _selective_ssm = ssm

    return Reference(**{f: getattr(cell, f) for f in cell.__dataclass_fields__}).scan(params, carry, xs, resets)


CASES = {
    "s4d": (dict(hidden_size=4, num_modes=3, chunk_size=4), s4d_reference),
    "selective": (dict(hidden_size=4, state_size=3, expand=2, chunk_size=4), selective_reference),
}


def make_case(name: str, length: int, batch: int = 3, **overrides):
    options, reference = CASES[name]
    cell = kernels.make_memory(name, **options, **overrides)
    params = jax.jit(cell.init, static_argnums=1)(jax.random.PRNGKey(0), 4)
    if name == "s4d":
        params["ssm"]["log_step"] = jnp.log(jnp.array([0.05, 0.2, 0.5, 1.0]))  # decays slow enough to matter
    xs = jax.random.normal(jax.random.PRNGKey(1), (length, batch, 4))
    resets = jnp.zeros((length, batch), bool).at[3, 0].set(True).at[4, 0].set(True).at[length - 1, 1].set(True)
    resets = resets.at[9, 2].set(True)
    # A non-zero carry, as a later rollout starts from.
    reference = jax.jit(reference, static_argnums=0)
    carry, _ = reference(cell, params, cell.initialize_carry((batch,)), jax.random.normal(jax.random.PRNGKey(2),
                                                                                             (5, batch, 4)),
                         jnp.zeros((5, batch), bool))
    return cell, params, carry, xs, resets, reference


def assert_close(a, b, tol=2e-5):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("length", [24, 13, 1])  # 13 is prime: chunks of one step
def test_layer_equals_per_step_reference(name, length):
    cell, params, carry, xs, resets, reference = make_case(name, length)
    assert_close(jax.jit(cell.scan)(params, carry, xs, resets), reference(cell, params, carry, xs, resets))


@pytest.mark.parametrize("name", CASES)
def test_parallel_method_equals_per_step_reference(name):
    """The associative scan (what accelerators use) over S4D's chunk ends or the selective layer's chunks."""
    cell, params, carry, xs, resets, reference = make_case(name, 24, method="parallel")
    assert_close(jax.jit(cell.scan)(params, carry, xs, resets), reference(cell, params, carry, xs, resets))


@pytest.mark.parametrize("name", CASES)
def test_gradients_equal_per_step_reference(name):
    cell, params, carry, xs, resets, reference = make_case(name, 24)
    target = jax.random.normal(jax.random.PRNGKey(5), xs.shape)

    def loss(layer, params, carry, xs):
        last, ys = layer(params, carry, xs, resets)
        return jnp.mean((ys - target) ** 2) + sum(jnp.sum(jnp.abs(leaf) ** 2) for leaf in jax.tree.leaves(last))

    gradient = jax.jit(jax.grad(loss, argnums=(1, 2, 3)), static_argnums=0)
    grads = gradient(cell.scan, params, carry, xs)
    expected = gradient(lambda *a: reference(cell, *a), params, carry, xs)
    assert_close(grads, expected, tol=1e-4)


@pytest.mark.parametrize("name", CASES)
def test_carry_handed_on_between_halves(name):
    cell, params, carry, xs, resets, reference = make_case(name, 24)
    scan = jax.jit(cell.scan)
    middle, first = scan(params, carry, xs[:12], resets[:12])
    last, second = scan(params, middle, xs[12:], resets[12:])
    expected_last, expected = reference(cell, params, carry, xs, resets)
    assert_close((last, jnp.concatenate([first, second])), (expected_last, expected))
    # And a step at a time, as acting does.
    state, ys, step = carry, [], jax.jit(cell.step)
    for t in range(xs.shape[0]):
        state, y = step(params, state, xs[t], resets[t])
        ys.append(y)
    assert_close((state, jnp.stack(ys)), (expected_last, expected))
