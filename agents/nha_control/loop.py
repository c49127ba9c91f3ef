"""The training loop of `--agent nha_control`: every step of the budget is a gradient step, run in compiled
chunks by the core driver (core/loops/driver.py), so logging, evaluation, checkpoints, pauses and resume are those
of every other agent.

Neither core loop fits: the off-policy loop's offline mode samples batches from a replay buffer and the on-policy
loop collects rollouts, while these learners make their own data (the unicycle's differentiable rollouts and
sampled tasks; the paddle's random-push episodes, collected once from the seed when the loop is built, so they are
never checkpointed and a resumed run fits the same data). Phases (the unicycle's controller, then its target policy)
are whole chunks, as the off-policy loop's pretrain phase is, so a resumed run continues in the right one.
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
class NHAControlCarry:
    agent: Any  # the method's learner state
    key: jax.Array
    steps: jax.Array  # gradient steps done


class NHAControlLoop:
    """`init_carry`, `advance` (exactly `chunk_steps` gradient steps), `evaluate` and `close`."""

    @staticmethod
    def iteration_steps(agent_config) -> int:
        del agent_config
        return 1

    def __init__(self, agent, env, chunk_steps: int, seed: int, eval_env=None, static_data=None,
                 deterministic_eval: bool = True):
        del deterministic_eval  # both controllers act deterministically given their plan
        if static_data:
            raise ConfigError("--agent nha_control does not train from a dataset; drop --dataset")
        self.eval_env = eval_env if eval_env is not None else env
        if not isinstance(self.eval_env, JaxEnv) or type(self.eval_env) is not type(env):
            raise ConfigError(f"--eval-env for --agent nha_control must be the same kind of env as --env "
                              f"{agent.spec.name}")
        self.method = agent.method(env, seed)
        self.chunk_steps = chunk_steps
        self.seed = seed
        self.metrics: dict = {}
        asked = self.method.phase_steps()
        self.boundaries = {phase: -(-steps // chunk_steps) * chunk_steps for phase, steps in asked.items()}
        self._asked = asked
        self.phase = self.method.phases[0]
        self._chunk = jax.jit(self._run_chunk, static_argnums=0, donate_argnums=1)

    def warnings(self, total_steps: int) -> list[str]:
        notes = []
        done = 0
        for phase, steps in self.boundaries.items():
            if steps != self._asked[phase]:
                notes.append(f"{phase} steps {self._asked[phase]} rounded up to {steps}, whole chunks of --log-every "
                             f"{self.chunk_steps}")
            done += steps
        if len(self.method.phases) > 1 and total_steps <= done:
            notes.append(f"--total-steps {total_steps} ends within the {self.method.phases[0]} phase "
                         f"({done} steps): the {self.method.phases[-1]} never trains")
        return notes

    def init_carry(self, key: jax.Array) -> NHAControlCarry:
        agent_key, key = jax.random.split(key)
        return NHAControlCarry(self.method.init(agent_key), key, jnp.zeros((), jnp.int32))

    def phase_at(self, step: int) -> str:
        start = 0
        for phase in self.method.phases[:-1]:
            start += self.boundaries.get(phase, 0)
            if step < start:
                return phase
        return self.method.phases[-1]

    def advance(self, carry: NHAControlCarry) -> tuple[NHAControlCarry, dict]:
        self.phase = self.phase_at(int(carry.steps))
        return self._chunk(self.phase, carry)

    def _run_chunk(self, phase: str, carry: NHAControlCarry):
        key, chunk_key = jax.random.split(carry.key)

        def one(state, step_key):
            return self.method.update(state, phase, step_key)

        state, metrics = jax.lax.scan(one, carry.agent, jax.random.split(chunk_key, self.chunk_steps))
        carry = NHAControlCarry(state, key, carry.steps + self.chunk_steps)
        return carry, jax.tree.map(lambda m: m[-1], metrics)

    def evaluate(self, carry: NHAControlCarry, episodes: int) -> np.ndarray:
        returns, self.metrics = self.method.evaluate(carry.agent, self.eval_env, episodes,
                                                     jax.random.fold_in(carry.key, 1))
        return returns

    def evaluation_metrics(self, returns: np.ndarray) -> dict:
        del returns
        return dict(self.metrics)

    def draw_evaluation(self, path) -> None:
        del path

    def close(self) -> None:
        pass
