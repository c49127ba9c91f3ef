"""The CEM planner finds the best action sequence of a known return, within its bounds."""

import jax
import jax.numpy as jnp
import numpy as np

from worldmodels.nha.cem import CEMConfig, plan, shift


def test_cem_finds_the_optimum_of_a_quadratic_return():
    target = jnp.linspace(0.2, 0.9, 6)[:, None]  # inside [0, 1]
    config = CEMConfig(horizon=6, iterations=12)
    returns = lambda actions, key: -jnp.sum((actions - target) ** 2, axis=(1, 2))
    mean = jax.jit(lambda k: plan(config, returns, jnp.full((6, 1), 0.5), k))(jax.random.PRNGKey(0))
    np.testing.assert_allclose(mean, target, atol=0.05)
    np.testing.assert_allclose(shift(mean, 0.5)[:-1], mean[1:])


def test_cem_respects_the_action_bounds():
    config = CEMConfig(horizon=3)
    returns = lambda actions, key: jnp.sum(actions, axis=(1, 2))  # wants actions as large as allowed
    mean = plan(config, returns, jnp.full((3, 1), 0.5), jax.random.PRNGKey(1))
    assert (mean <= 1.0).all() and (mean > 0.9).all()
