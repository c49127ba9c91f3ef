"""Layer-specific checks: HiPPO init, S5 eigenvalue constraints, S4D conv = recurrent, long-sequence stability,
and the SSM optimiser groups."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import kernels
from kernels import hippo


def test_hippo_diagonalisation():
    lam, v = hippo.diagonalise_normal_hippo(16)
    np.testing.assert_allclose(lam.real, -0.5, atol=1e-10)
    np.testing.assert_allclose(v.conj().T @ v, np.eye(16), atol=1e-5)
    np.testing.assert_allclose(v @ np.diag(lam) @ v.conj().T, hippo.hippo_normal_part(16), atol=1e-5)
    # The kept half holds one eigenvalue of each conjugate pair.
    np.testing.assert_allclose(np.sort(lam[:8].imag), np.sort(-lam[8:].imag), atol=1e-8)


def test_s5_eigenvalues_stay_stable_for_adversarial_params():
    for constraint in ("neg_exp", "clip"):
        cell = kernels.S5Cell(hidden_size=4, ssm_size=8, eigenvalue_constraint=constraint)
        params = cell.init(jax.random.PRNGKey(0), 4)
        ssm = dict(params["ssm"], lambda_re=jnp.full(4, 50.0), log_step=jnp.full(4, 5.0))
        lam_bar, _ = cell.discretise(ssm)
        assert jnp.all(jnp.abs(lam_bar) < 1), constraint


def test_s5_zoh_input_matrix_matches_quadrature():
    cell = kernels.S5Cell(hidden_size=4, ssm_size=8)
    ssm = cell.init(jax.random.PRNGKey(1), 4)["ssm"]
    lam, step = np.asarray(cell.eigenvalues(ssm), np.complex128), np.exp(np.asarray(ssm["log_step"], np.float64))
    _, b_bar = cell.discretise(ssm)
    s = np.linspace(0, 1, 20001)[:, None] * step  # int_0^Delta exp(lambda s) ds by the trapezoid rule
    integral = np.trapezoid(np.exp(lam * s), s, axis=0)
    b_tilde = np.asarray(ssm["B"][..., 0]) + 1j * np.asarray(ssm["B"][..., 1])
    np.testing.assert_allclose(np.asarray(b_bar), integral[:, None] * b_tilde, rtol=1e-4, atol=1e-6)


S4D_OPTIONS = dict(hidden_size=4, num_modes=3, activation="none", norm=False)


def test_s4d_convolution_equals_recurrence_with_a_carried_state():
    conv = kernels.make_memory("s4d", mode="conv", **S4D_OPTIONS)
    recur = kernels.make_memory("s4d", mode="recurrent", **S4D_OPTIONS)
    params = jax.jit(conv.init, static_argnums=1)(jax.random.PRNGKey(0), 4)  # jitted: eagerly, a compile per op
    params["ssm"]["log_step"] = jnp.log(jnp.array([0.05, 0.2, 0.5, 1.0]))  # slow enough decay to matter
    xs = jax.random.normal(jax.random.PRNGKey(1), (16, 2, 4))
    conv_scan, recur_scan = jax.jit(conv.scan), jax.jit(recur.scan)
    carry, _ = recur_scan(params, recur.initialize_carry((2,)), xs)
    conv_carry, conv_ys = conv_scan(params, carry, xs)
    recur_carry, recur_ys = recur_scan(params, carry, xs)
    np.testing.assert_allclose(conv_ys, recur_ys, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(conv_carry, recur_carry, rtol=1e-4, atol=1e-4)

    # No wrap-around: an impulse at the last step leaves every earlier output untouched.
    impulse = jnp.zeros((16, 1, 4)).at[-1].set(1.0)
    _, ys = conv_scan(params, conv.initialize_carry((1,)), impulse)
    assert jnp.all(jnp.abs(ys[:-1]) < 1e-6)

    with pytest.raises(ValueError, match="cannot reset"):
        conv.scan(params, carry, xs, jnp.zeros((16, 2), bool))


@pytest.mark.parametrize("name, options", [
    ("s5", dict(hidden_size=2, ssm_size=4, eigenvalue_constraint="none")),
    ("selective", dict(hidden_size=2, state_size=2, expand=1)),
])
def test_no_nan_or_inf_at_100k_steps(name, options):
    cell = kernels.make_memory(name, **options)
    params = cell.init(jax.random.PRNGKey(0), 2)
    xs = jax.random.normal(jax.random.PRNGKey(1), (100_000, 1, 2))
    resets = jnp.zeros((100_000, 1), bool).at[50_000].set(True)

    def loss(params):
        carry, ys = cell.scan(params, cell.initialize_carry((1,)), xs, resets)
        return jnp.mean(ys**2), (carry, ys)

    grads, (carry, ys) = jax.jit(jax.grad(loss, has_aux=True))(params)
    for leaf in jax.tree.leaves((carry, ys, grads)):
        assert jnp.all(jnp.isfinite(leaf))


def test_ssm_optimizer_groups():
    cell = kernels.make_memory("s5", hidden_size=4, ssm_size=4, num_layers=2)
    params = {"encoder": {"kernel": jnp.ones((3, 4))}, "memory": cell.init(jax.random.PRNGKey(0), 4)}
    labels = kernels.ssm_param_labels(params)
    assert set(labels["memory"]["layers"]["ssm"].values()) == {"ssm"}
    assert labels["memory"]["layers"]["C"] == "rest" and labels["encoder"]["kernel"] == "rest"

    # With zero gradients only weight decay moves a parameter: the ssm group must not move.
    opt = kernels.ssm_optimizer(base_lr=0.1, ssm_lr=0.01, weight_decay=0.5)
    zeros = jax.tree.map(jnp.zeros_like, params)
    updates, _ = jax.jit(opt.update)(zeros, opt.init(params), params)
    assert all(jnp.all(u == 0) for u in jax.tree.leaves(updates["memory"]["layers"]["ssm"]))
    assert jnp.all(updates["encoder"]["kernel"] != 0)

    # Adam's first step has size lr per element: ssm_lr for the ssm group, base_lr for the rest.
    ones = jax.tree.map(jnp.ones_like, params)
    opt = kernels.ssm_optimizer(base_lr=0.1, ssm_lr=0.01)
    updates, _ = jax.jit(opt.update)(ones, opt.init(params), params)
    np.testing.assert_allclose(updates["memory"]["layers"]["ssm"]["log_step"], -0.01, rtol=1e-4)
    np.testing.assert_allclose(updates["encoder"]["kernel"], -0.1, rtol=1e-4)
    assert isinstance(opt, optax.GradientTransformation)


@pytest.mark.parametrize("discretisation", ["zoh", "bilinear"])
def test_s5_complex_modes_agree(discretisation):
    """pairs (f32 re/im halves, hand-written backward) == native complex64: outputs, carry and gradients."""
    cells = {mode: kernels.make_memory("s5", num_layers=2, hidden_size=8, ssm_size=16, complex_mode=mode,
                                       discretisation=discretisation, method="sequential")
             for mode in ("pairs", "native")}
    params = jax.jit(cells["native"].init, static_argnums=1)(jax.random.PRNGKey(0), 5)
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    xs = jax.random.normal(keys[0], (40, 3, 5))
    resets = jax.random.bernoulli(keys[1], 0.1, (40, 3))
    carry = jax.tree.map(lambda c: c + 0.3j, cells["native"].initialize_carry((3,)))
    weights = jax.random.normal(keys[2], (40, 3, 8))

    def loss(params, xs, carry, cell):
        last, ys = cell.scan(params, carry, xs, resets)
        return (ys * weights).sum() + sum(jnp.abs(leaf).sum() for leaf in jax.tree.leaves(last)), (last, ys)

    gradient = jax.jit(jax.grad(loss, argnums=(0, 1, 2), has_aux=True), static_argnums=3)
    results = {mode: gradient(params, xs, carry, cell) for mode, cell in cells.items()}
    (grads_p, aux_p), (grads_n, aux_n) = results["pairs"], results["native"]
    for a, b in zip(jax.tree.leaves((aux_p, grads_p)), jax.tree.leaves((aux_n, grads_n))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)


def test_s5_complex_mode_auto_and_errors():
    assert kernels.S5Cell(method="sequential")._uses_pairs()
    assert not kernels.S5Cell(method="parallel")._uses_pairs()
    with pytest.raises(ValueError, match="complex_mode"):
        kernels.S5Cell(complex_mode="polar")
