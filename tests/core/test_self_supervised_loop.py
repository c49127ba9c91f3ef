"""core/loops/self_supervised.py with a toy learner: chunks are exactly `chunk_steps` gradient steps of the phase
the step count is in, phases are whole chunks, and the driver's evaluation gets the learner's metrics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from core.loops.self_supervised import SelfSupervisedLoop
from core.protocols import SelfSupervisedAgent, SelfSupervisedLearner
from core.validation import ConfigError


class CountingLearner(SelfSupervisedLearner):
    """Counts its steps per phase; its 'evaluation' returns them."""

    phases = ("first", "second")

    def init(self, key):
        return {"first": jnp.zeros((), jnp.int32), "second": jnp.zeros((), jnp.int32)}

    def update(self, state, phase, key):
        state = {**state, phase: state[phase] + 1}
        return state, {f"{phase}_count": state[phase]}

    def phase_steps(self):
        return {"first": 25}

    def evaluate(self, state, env, episodes, key):
        return np.full(episodes, float(state["second"])), {"first_steps": float(state["first"])}


class CountingAgent(SelfSupervisedAgent):
    name = "counting"

    def __init__(self, spec):
        self.spec = spec

    def learner(self, env, seed):
        return CountingLearner()


@pytest.fixture
def env():
    return envs.make("jax:Pendulum-v1")


def test_chunks_are_whole_phases_and_count_their_steps(env):
    loop = SelfSupervisedLoop(CountingAgent(env.spec), env, 10, seed=0)
    assert loop.warnings(100) == ["first steps 25 rounded up to 30, whole chunks of --log-every 10"]
    carry = loop.init_carry(jax.random.PRNGKey(0))
    phases, logged = [], []
    for _ in range(5):
        carry, stats = loop.advance(carry)
        phases.append(loop.phase)
        logged.append({name: int(value) for name, value in stats.items()})
    assert phases == ["first"] * 3 + ["second"] * 2
    assert logged[2] == {"first_count": 30} and logged[4] == {"second_count": 20}
    assert int(carry.steps) == 50
    returns = loop.evaluate(carry, 3)
    np.testing.assert_array_equal(returns, [20.0, 20.0, 20.0])
    assert loop.evaluation_metrics(returns) == {"first_steps": 30.0}


def test_a_dataset_or_another_kind_of_eval_env_is_refused(env):
    with pytest.raises(ConfigError, match="--agent counting does not train from a dataset"):
        SelfSupervisedLoop(CountingAgent(env.spec), env, 10, 0, static_data={"dataset": object()})
    with pytest.raises(ConfigError, match="--eval-env for --agent counting must be the same kind of env"):
        SelfSupervisedLoop(CountingAgent(env.spec), env, 10, 0, eval_env=envs.make("jax:CartPole-v1"))
