"""The off-policy loop's `update_steps` hook (an `update` call of several gradient steps: MOORL's meta-iteration)
and its `diagnostics` hook (logged at every evaluation)."""

import jax
import numpy as np
import pytest

import envs
from agents.moorl import MOORL, MOORLConfig
from core import replay
from core.loops.off_policy import OffPolicyLoop
from core.protocols import DATASET
from core.validation import ConfigError
from tests.agents.test_moorl_update import rows

ENV = envs.make("jax:Pendulum-v1")


def dataset(count: int = 400):
    data = rows(count, 1.0)
    return {DATASET: replay.from_arrays(data.replace(truncated=np.arange(count) % 100 == 99))}


def run(config: MOORLConfig, steps: int = 40):
    loop = OffPolicyLoop(MOORL(config, ENV.spec), ENV, chunk_steps=steps, seed=0, static_data=dataset())
    carry, _ = loop.advance(loop.init_carry(jax.random.key(0)))
    return loop, carry


@pytest.mark.parametrize(("reading", "gradient_steps"), [("B", 40), ("A", 200)])
def test_the_loop_counts_gradient_steps_in_whole_meta_iterations(reading, gradient_steps):
    config = MOORLConfig(hidden=(8,), batch_size=4, inner_steps=5, inner_reading=reading, warmup_on=0)
    _, carry = run(config)
    assert int(carry.env_steps) == 40
    assert int(carry.agent.updates) == gradient_steps  # B: update-to-data ratio 1; A: K


def test_a_burst_that_is_not_whole_meta_iterations_is_refused():
    config = MOORLConfig(hidden=(8,), inner_steps=3, updates_per_step=1.0, train_every=2)
    with pytest.raises(ConfigError, match="multiple of the agent's 3 steps per update call"):
        OffPolicyLoop(MOORL(config, ENV.spec), ENV, chunk_steps=12, seed=0, static_data=dataset())


def test_diagnostics_join_the_evaluation_metrics():
    config = MOORLConfig(hidden=(8,), batch_size=4, inner_steps=2, warmup_on=0, gamma=0.5)
    loop, carry = run(config, steps=20)
    loop.evaluate(carry, episodes=1)
    metrics = loop.evaluation_metrics(np.zeros(1))
    assert metrics["mc_return_offline"] == pytest.approx(2.0, abs=0.05)  # reward 1, gamma 0.5, far from a cut
    assert np.isfinite(metrics["q_offline"])
    assert "q_online" not in metrics, "20 steps of Pendulum (200-step episodes) hold no finished episode"
