"""agents/natural_gradient.py: conjugate gradient solves SPD systems, the Fisher-vector product is the KL's Hessian
(plus damping) times the vector, and a step stays within its KL bound and never makes the surrogate worse.

Each computation is jitted: run eagerly, every op of it was a compile of its own, most of the file's time."""

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from agents.natural_gradient import (
    NaturalStepSettings,
    conjugate_gradient,
    fisher_vector_product,
    line_search,
    natural_gradient_step,
)

OBS, ACT, ROWS = 3, 2, 64


def gaussian(params, obs):
    """A tiny linear-tanh Gaussian policy with a state-independent log-std."""
    return jnp.tanh(obs @ params["w"] + params["b"]), jnp.broadcast_to(params["log_std"], (obs.shape[0], ACT))


def log_prob(mean, log_std, action):
    return jnp.sum(-0.5 * ((action - mean) * jnp.exp(-log_std)) ** 2 - log_std - 0.5 * jnp.log(2 * jnp.pi), -1)


def mean_kl(old, new):
    (m0, s0), (m1, s1) = old, new
    return jnp.mean(jnp.sum(s1 - s0 + (jnp.exp(2 * s0) + (m0 - m1) ** 2) / (2 * jnp.exp(2 * s1)) - 0.5, -1))


def problem(seed: int = 0):
    keys = jax.random.split(jax.random.PRNGKey(seed), 5)
    params = {"w": 0.5 * jax.random.normal(keys[0], (OBS, ACT)), "b": jnp.zeros(ACT), "log_std": jnp.zeros(ACT)}
    obs = jax.random.normal(keys[1], (ROWS, OBS))
    old = jax.lax.stop_gradient(gaussian(params, obs))
    action = old[0] + jax.random.normal(keys[2], (ROWS, ACT))
    advantage = jax.random.normal(keys[3], (ROWS,)) + action[:, 0]  # favours a larger first action entry
    old_logp = log_prob(*old, action)
    surrogate = lambda p: -jnp.mean(advantage * jnp.exp(log_prob(*gaussian(p, obs), action) - old_logp))
    kl = lambda p: mean_kl(old, gaussian(p, obs))
    return params, surrogate, kl


def test_conjugate_gradient_solves_a_known_spd_system():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 6))
    a = m @ m.T + 6 * np.eye(6)
    b = rng.normal(size=6)
    solve = jax.jit(lambda b, iterations: conjugate_gradient(lambda v: jnp.asarray(a, jnp.float32) @ v, b,
                                                             iterations), static_argnums=1)
    x = solve(jnp.asarray(b, jnp.float32), 6)
    np.testing.assert_allclose(np.asarray(x), np.linalg.solve(a, b), rtol=1e-4, atol=1e-5)
    # Past convergence the iterations change nothing (no division by a vanished residual).
    more = solve(jnp.asarray(b, jnp.float32), 30)
    assert np.all(np.isfinite(np.asarray(more)))
    np.testing.assert_allclose(np.asarray(more), np.linalg.solve(a, b), rtol=1e-4, atol=1e-5)


def test_fisher_vector_product_matches_the_dense_kl_hessian():
    params, _, kl = problem()
    flat, unravel = ravel_pytree(params)
    flat_kl = lambda x: kl(unravel(x))
    dense = np.asarray(jax.jit(jax.hessian(flat_kl))(flat)) + 0.1 * np.eye(flat.size)
    product = jax.jit(fisher_vector_product(flat_kl, flat, damping=0.1))
    for seed in range(3):
        v = jax.random.normal(jax.random.PRNGKey(seed), flat.shape)
        np.testing.assert_allclose(np.asarray(product(v)), dense @ np.asarray(v), rtol=1e-4, atol=1e-5)


def test_a_step_respects_its_kl_bound_and_improves_the_surrogate():
    params, surrogate, kl = problem()
    new, metrics = jax.jit(lambda p: natural_gradient_step(surrogate, kl, p, NaturalStepSettings(max_kl=0.01)))(params)
    assert float(metrics["accepted"]) == 1.0
    assert float(kl(new)) <= 0.01 * 1.1, "the quadratic model reaches the bound; the true KL may overshoot a little"
    assert float(kl(new)) > 0.001, "the step should use most of its trust region"
    assert float(surrogate(new)) < float(surrogate(params))


def test_the_line_search_rejects_a_step_that_makes_the_surrogate_worse():
    params, surrogate, _ = problem()
    flat, unravel = ravel_pytree(params)
    flat_loss = lambda x: surrogate(unravel(x))
    uphill = 0.1 * jax.jit(jax.grad(flat_loss))(flat)  # along the gradient: every fraction of it increases the loss
    search = jax.jit(lambda step, expected: line_search(flat_loss, flat, step, expected, 10, 0.1))
    taken, accepted, fraction, _ = search(uphill, jnp.asarray(1.0))
    assert not bool(accepted) and float(fraction) == 0.0
    np.testing.assert_array_equal(np.asarray(taken), np.asarray(flat))
    downhill = -uphill
    expected = -jax.jit(jax.grad(flat_loss))(flat) @ downhill
    taken, accepted, fraction, improvement = search(downhill, expected)
    assert bool(accepted) and float(fraction) > 0 and float(improvement) > 0
