"""The loop of agents that make their own training data (core/protocols.py `SelfSupervisedAgent`): every step of
the budget is one gradient step, run in compiled chunks by the core driver (core/loops/driver.py), so logging,
evaluation, checkpoints, pauses and resume are those of every other agent.

The off-policy loop's offline mode samples batches from a replay buffer and the on-policy loop collects rollouts;
a learner here instead draws its own data inside its update (differentiable rollouts through a JAX env's dynamics,
sampled tasks) or holds data it collected once when it was built (from the seed, so a resumed run has the same
data and checkpoints never hold it). `--agent nha_control` is one. A learner may train in phases (a controller,
then a policy above it); each phase is whole chunks, as the off-policy loop's pretrain phase is, so a resumed run
continues in the right one.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from core.validation import ConfigError
from envs.protocol import JaxEnv


@struct.dataclass
class SelfSupervisedCarry:
    agent: Any  # the learner's state
    key: jax.Array
    steps: jax.Array  # gradient steps done


class SelfSupervisedLoop:
    """`init_carry`, `advance` (exactly `chunk_steps` gradient steps), `evaluate` and `close`, for the learner that
    `agent.learner(env, seed)` builds."""

    @staticmethod
    def iteration_steps(agent_config) -> int:
        del agent_config
        return 1

    def __init__(self, agent, env, chunk_steps: int, seed: int, eval_env=None, static_data=None,
                 deterministic_eval: bool = True):
        del deterministic_eval  # the learner's evaluation decides how it acts
        if static_data:
            raise ConfigError(f"--agent {agent.name} does not train from a dataset; drop --dataset")
        self.eval_env = eval_env if eval_env is not None else env
        if not isinstance(self.eval_env, JaxEnv) or type(self.eval_env) is not type(env):
            raise ConfigError(f"--eval-env for --agent {agent.name} must be the same kind of env as --env "
                              f"{agent.spec.name}")
        self.learner = agent.learner(env, seed)
        self.chunk_steps = chunk_steps
        self.metrics: dict = {}
        asked = self.learner.phase_steps()
        self.boundaries = {phase: -(-steps // chunk_steps) * chunk_steps for phase, steps in asked.items()}
        self._asked = asked
        self.phase = self.learner.phases[0]
        self._chunk = jax.jit(self._run_chunk, static_argnums=0, donate_argnums=1)

    def warnings(self, total_steps: int) -> list[str]:
        notes = []
        done = 0
        for phase, steps in self.boundaries.items():
            if steps != self._asked[phase]:
                notes.append(f"{phase} steps {self._asked[phase]} rounded up to {steps}, whole chunks of --log-every "
                             f"{self.chunk_steps}")
            done += steps
        if len(self.learner.phases) > 1 and total_steps <= done:
            notes.append(f"--total-steps {total_steps} ends within the {self.learner.phases[0]} phase "
                         f"({done} steps): the {self.learner.phases[-1]} never trains")
        return notes

    def init_carry(self, key: jax.Array) -> SelfSupervisedCarry:
        agent_key, key = jax.random.split(key)
        return SelfSupervisedCarry(self.learner.init(agent_key), key, jnp.zeros((), jnp.int32))

    def phase_at(self, step: int) -> str:
        start = 0
        for phase in self.learner.phases[:-1]:
            start += self.boundaries.get(phase, 0)
            if step < start:
                return phase
        return self.learner.phases[-1]

    def advance(self, carry: SelfSupervisedCarry) -> tuple[SelfSupervisedCarry, dict]:
        self.phase = self.phase_at(int(carry.steps))
        return self._chunk(self.phase, carry)

    def _run_chunk(self, phase: str, carry: SelfSupervisedCarry):
        key, chunk_key = jax.random.split(carry.key)

        def one(state, step_key):
            return self.learner.update(state, phase, step_key)

        state, metrics = jax.lax.scan(one, carry.agent, jax.random.split(chunk_key, self.chunk_steps))
        carry = SelfSupervisedCarry(state, key, carry.steps + self.chunk_steps)
        return carry, jax.tree.map(lambda m: m[-1], metrics)

    def evaluate(self, carry: SelfSupervisedCarry, episodes: int) -> np.ndarray:
        returns, self.metrics = self.learner.evaluate(carry.agent, self.eval_env, episodes,
                                                     jax.random.fold_in(carry.key, 1))
        return returns

    def evaluation_metrics(self, returns: np.ndarray) -> dict:
        del returns
        return dict(self.metrics)

    def draw_evaluation(self, path) -> None:
        del path

    def close(self) -> None:
        pass
