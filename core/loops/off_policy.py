"""The off-policy loop (SAC and agents built on it): act, step, store, update, one env step at a time.

On JAX envs a whole chunk of iterations (act, vmapped env step, replay add, updates) is one `lax.scan` under
one `jit`. On host gymnasium envs each iteration is one fused jitted call (store the transition, update, pick
the next action) around one host vector-env step, with the learner state donated so the replay buffer is
updated in place.

The agent provides `init(key)`, `act(state, obs[B, ...], key, deterministic)` in normalised actions, and
`update(state, batch, key) -> (state, metrics)`, and its config `batch_size`, `buffer_size`,
`learning_starts` and `num_envs`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from core import distributed, replay
from core.actions import to_env_action
from core.rollout import batch_reset, batch_step, evaluate_host, evaluate_jax, finished_episode_stats
from envs.protocol import JaxEnv


@struct.dataclass
class OffPolicyCarry:
    agent: Any
    replay: replay.ReplayState
    env_state: Any  # batched JAX env state; None on host envs
    obs: jax.Array  # [num_envs, ...]
    key: jax.Array
    env_steps: jax.Array


def _transition_example(spec) -> dict:
    obs = jnp.zeros(spec.observation_space.shape, jnp.float32)
    action = jnp.zeros(spec.action_space.shape, jnp.float32)
    return {"obs": obs, "action": action, "reward": jnp.zeros(()), "next_obs": obs,
            "terminated": jnp.zeros((), bool)}


def init_carry(agent, spec, key: jax.Array, env: JaxEnv | None) -> OffPolicyCarry:
    agent_key, env_key, key = jax.random.split(key, 3)
    buffer = replay.init(_transition_example(spec), agent.config.buffer_size)
    env_state, obs = None, jnp.zeros((agent.config.num_envs, *spec.observation_space.shape))
    if env is not None:
        env_state, timestep = batch_reset(env, env_key, agent.config.num_envs)
        obs = timestep.obs
    return OffPolicyCarry(agent.init(agent_key), buffer, env_state, obs, key, jnp.zeros((), jnp.int32))


def _behaviour_action(agent, carry: OffPolicyCarry, obs, key) -> jax.Array:
    """Uniform random actions until `learning_starts`, the stochastic policy after."""
    random_action = jax.random.uniform(key, (obs.shape[0], *agent.spec.action_space.shape), minval=-1, maxval=1)
    policy_action = agent.act(carry.agent, obs, key)
    return jnp.where(carry.env_steps < agent.config.learning_starts, random_action, policy_action)


def _learn(agent, carry: OffPolicyCarry, num_updates: int) -> tuple[OffPolicyCarry, dict]:
    """`num_updates` gradient steps once the warm-up is over; zeros metrics (same structure) before.

    The metrics carry `updated`, whether these are real: the run driver drops the placeholder zeros from the
    log rather than report a loss of 0 and an alpha of 0 before the first update.
    """

    def updates(agent_state, key):
        def one(state, update_key):
            sample_key, step_key = jax.random.split(update_key)
            batch = replay.sample(carry.replay, sample_key, agent.config.batch_size)
            return agent.update(state, batch, step_key)

        state, metrics = jax.lax.scan(one, agent_state, jax.random.split(key, num_updates))
        return state, jax.tree.map(jnp.mean, metrics)

    key, update_key = jax.random.split(carry.key)
    metric_shapes = jax.eval_shape(updates, carry.agent, update_key)[1]
    skip = lambda state, _: (state, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), metric_shapes))
    ready = carry.env_steps >= agent.config.learning_starts
    agent_state, metrics = jax.lax.cond(ready, updates, skip, carry.agent, update_key)
    return carry.replace(agent=agent_state, key=key), {**metrics, "updated": ready}


# --- the loop object the run driver uses ------------------------------------------------------------------


class OffPolicyLoop:
    """`init_carry`, `advance` (exactly `chunk_steps` env steps), `evaluate` and `close` for one agent and env."""

    @staticmethod
    def iteration_steps(agent_config) -> int:
        """Env steps of one loop iteration (one vmapped env step); budgets and intervals are whole iterations."""
        return agent_config.num_envs

    def __init__(self, agent, env, chunk_steps: int, seed: int):
        self.agent = agent
        self.env = env
        self.seed = seed
        self.is_jax = isinstance(env, JaxEnv)
        self.chunk_steps = chunk_steps
        self.space = env.spec.action_space
        self._act = jax.jit(lambda state, obs, key: to_env_action(self.space, agent.act(state, obs, key, True)))
        if self.is_jax:
            distributed.initialize_from_environment()
            self._advance = jax.jit(self._jax_chunk, donate_argnums=0)
            self._evaluate = jax.jit(self._jax_evaluate, static_argnums=1)
        else:
            self.host = HostStepper(agent, env, seed)

    def warnings(self, total_steps: int) -> list[str]:
        """One line per way a run of `total_steps` env steps is not the run its settings suggest."""
        learning_starts = self.agent.config.learning_starts
        if total_steps < learning_starts:
            return [f"{total_steps} total steps < learning_starts {learning_starts}: the agent never "
                    f"updates, the run only collects random-action experience"]
        return []

    def init_carry(self, key: jax.Array) -> OffPolicyCarry:
        carry = init_carry(self.agent, self.env.spec, key, self.env if self.is_jax else None)
        if self.is_jax:
            carry = self._place(carry)
        return distributed.own_buffers(carry)  # both the JAX chunk and the host iteration donate it

    def _place(self, carry: OffPolicyCarry) -> OffPolicyCarry:
        """JAX envs: the env batch sharded over the visible devices (core/distributed.py), the learner replicated."""
        env_state, obs = distributed.shard_envs((carry.env_state, carry.obs), self.agent.config.num_envs)
        learner = distributed.replicate((carry.agent, carry.replay, carry.key, carry.env_steps))
        return OffPolicyCarry(learner[0], learner[1], env_state, obs, learner[2], learner[3])

    def advance(self, carry: OffPolicyCarry) -> tuple[OffPolicyCarry, dict]:
        if self.is_jax:
            return self._advance(carry)
        return self.host.advance(carry, self.chunk_steps)

    def evaluate(self, carry: OffPolicyCarry, episodes: int) -> np.ndarray:
        if self.is_jax:
            return np.asarray(self._evaluate(carry, episodes))
        policy = lambda obs, key: self._act(carry.agent, obs, key)
        return evaluate_host(self.env, policy, jax.random.fold_in(carry.key, 1), episodes, self.seed + 10_000)

    def close(self) -> None:
        if not self.is_jax:
            self.host.close()

    # --- JAX envs: a chunk of iterations is one scan ------------------------------------------------------
    def _jax_iteration(self, carry: OffPolicyCarry, _):
        num_envs = self.agent.config.num_envs
        key, act_key, env_key = jax.random.split(carry.key, 3)
        action = _behaviour_action(self.agent, carry, carry.obs, act_key)
        env_state, timestep = batch_step(self.env, carry.env_state, to_env_action(self.space, action), env_key)
        transition = {"obs": carry.obs, "action": action, "reward": timestep.reward,
                      "next_obs": timestep.info["final_obs"], "terminated": timestep.terminated}
        carry = carry.replace(
            replay=replay.add(carry.replay, transition),
            env_state=env_state,
            obs=timestep.obs,
            key=key,
            env_steps=carry.env_steps + num_envs,
        )
        carry, metrics = _learn(self.agent, carry, num_envs)
        return carry, (metrics, finished_episode_stats(timestep))

    def _jax_chunk(self, carry: OffPolicyCarry):
        iterations = self.chunk_steps // self.agent.config.num_envs
        carry, (metrics, episodes) = jax.lax.scan(self._jax_iteration, carry, None, length=iterations)
        env_state, obs = distributed.constrain_envs((carry.env_state, carry.obs), self.agent.config.num_envs)
        carry = carry.replace(env_state=env_state, obs=obs)
        return carry, {**jax.tree.map(lambda m: m[-1], metrics), **jax.tree.map(jnp.sum, episodes)}

    def _jax_evaluate(self, carry: OffPolicyCarry, episodes: int):
        policy = lambda obs, key: self._act(carry.agent, obs, key)
        return evaluate_jax(self.env, policy, jax.random.fold_in(carry.key, 1), episodes)


# --- host envs ---------------------------------------------------------------------------------------------


class HostStepper:
    """Runs the off-policy iteration around a host gymnasium vector env.

    The env is not part of the checkpoint: a resumed run starts fresh episodes, so host-env runs resume
    statistically, not bit for bit.
    """

    def __init__(self, agent, env_factory, seed: int):
        self.agent = agent
        self.space = env_factory.spec.action_space
        self.vec = env_factory.vector(agent.config.num_envs, seed)
        self.obs = None
        self.action = None
        self._iteration = jax.jit(self._fused_iteration, donate_argnums=0)
        self._first_action = jax.jit(self._pick_action)

    def _pick_action(self, carry: OffPolicyCarry, obs):
        key, act_key = jax.random.split(carry.key)
        action = _behaviour_action(self.agent, carry, obs, act_key)
        return carry.replace(key=key), action

    def _fused_iteration(self, carry: OffPolicyCarry, transition: dict, next_obs):
        num_envs = self.agent.config.num_envs
        carry = carry.replace(replay=replay.add(carry.replay, transition), env_steps=carry.env_steps + num_envs)
        carry, metrics = _learn(self.agent, carry, num_envs)
        carry, action = self._pick_action(carry, next_obs)
        return carry, action, metrics

    def advance(self, carry: OffPolicyCarry, chunk_steps: int) -> tuple[OffPolicyCarry, dict]:
        if self.obs is None:
            self.obs = self.vec.reset().obs
            carry, self.action = self._first_action(carry, jnp.asarray(self.obs))
        totals = {"episodes": 0.0, "return_sum": 0.0, "length_sum": 0.0}
        metrics = {}
        for _ in range(chunk_steps // self.agent.config.num_envs):
            action = np.asarray(self.action)
            timestep = self.vec.step(np.asarray(to_env_action(self.space, action)))
            transition = {"obs": self.obs, "action": action, "reward": timestep.reward,
                          "next_obs": timestep.info["final_obs"], "terminated": timestep.terminated}
            carry, self.action, metrics = self._iteration(carry, transition, timestep.obs)
            self.obs = timestep.obs
            _count_episodes(totals, timestep)
        return carry, {**metrics, **totals}

    def close(self) -> None:
        self.vec.close()


def _count_episodes(totals: dict, timestep) -> None:
    done = np.logical_or(timestep.terminated, timestep.truncated)
    if done.any():
        totals["episodes"] += float(done.sum())
        totals["return_sum"] += float(np.asarray(timestep.info["episode_return"])[done].sum())
        totals["length_sum"] += float(np.asarray(timestep.info["episode_length"])[done].sum())
