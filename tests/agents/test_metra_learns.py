"""METRA learns on the point mass (`jax:PointPlane-v0`) at a small budget, fixed seed: its skills cover more of the
plane than DIAYN's and than a uniform random policy's, its phi meets the temporal-distance constraint on the
training data (adjacent states about one unit apart, not more), and it reaches goals zero-shot."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents.metra import METRA, METRAConfig
from core.loops.off_policy import OffPolicyLoop

EPOCHS = 40  # of 8 episodes x 50 steps, then 50 gradient steps: 16,000 env steps, 1,950 updates
SMALL = {"hidden": (32, 32), "batch_size": 64, "learning_starts": 400, "buffer_size": 20_000, "actor_lr": 1e-3,
         "critic_lr": 1e-3, "alpha_lr": 1e-3, "phi_lr": 1e-3, "dual_lr": 1e-3}


def train(method: str, seed: int = 0):
    env = envs.make("jax:PointPlane-v0")
    agent = METRA(METRAConfig(method=method, **SMALL), env.spec)
    loop = OffPolicyLoop(agent, env, EPOCHS * 400, seed)
    carry, stats = loop.advance(loop.init_carry(jax.random.PRNGKey(seed)))
    returns = loop.evaluate(carry, 1)
    return agent, carry, loop.evaluation_metrics(returns)


@pytest.fixture(scope="module")
def runs():
    return {method: train(method) for method in ("metra", "diayn")}


def test_metra_covers_more_of_the_plane_than_diayn_and_random_actions(runs):
    metra, diayn = runs["metra"][2], runs["diayn"][2]
    assert metra["coverage"] > 2 * metra["random_coverage"], (metra, diayn)
    assert metra["coverage"] > diayn["coverage"], (metra, diayn)
    assert metra["random_coverage"] == diayn["random_coverage"], "same env, rollouts and steps"
    assert metra["goal_success"] >= 0.5 and metra["goal_success"] > diayn["goal_success"], (metra, diayn)


def test_the_constraint_holds_on_the_training_data(runs):
    agent, carry, _ = runs["metra"]
    data = carry.replay.data
    size = int(carry.replay.size)
    phi = jax.jit(agent.phi)
    delta = phi(carry.agent.phi, data.next_obs[:size]) - phi(carry.agent.phi, data.obs[:size])
    phi_dist = float(jnp.mean(jnp.mean(delta**2, axis=-1)))
    assert 0.5 < phi_dist < 1.1, f"mean squared phi-distance of adjacent states {phi_dist}, bound 1"
    assert float(jnp.exp(carry.agent.log_dual)) < agent.config.init_dual, "held on average: lambda fell"
    assert np.isfinite(runs["metra"][2]["total_coverage"])
