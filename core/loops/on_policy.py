"""The on-policy loop (PPO and agents built on it): collect a rollout of num_envs x num_steps, then update on it.

Rollouts come from core/rollout's collectors (the acting carry is the agent's memory). On JAX envs one
iteration (rollout, GAE, epochs, minibatches) is pure, and `advance` runs a whole chunk of iterations as one
`lax.scan` under one `jit`, with the env batch sharded over the visible devices (core/distributed.py).
`make_train(agent, env, total_steps)` is the same iteration as a pure `train(key)` for
`jax.jit(jax.vmap(train))` over seeds. On host gymnasium envs the host collector steps the vector env around a
jitted policy step, then the same jitted update runs.

The agent follows core/protocols.py `OnPolicyAgent`. The memory carry crosses rollout boundaries; `first` marks
episode starts. An agent with `uses_static_data` (HNPG) also gets the run's static data sources (offline
datasets, by name): `init_with_data(key, static)` builds its learner and `update_with_data(..., static, key)`
updates it; the sources are an argument of every compiled chunk (never a constant baked into it) and never part
of the carry, so checkpoints do not hold them. Other agents (PPO) refuse them. `agent.wrap_env` adapts the
training and evaluation envs (e.g. previous-action inputs).
The value after each step is read from the next step's features, so the extra policy step on the final
observation is only computed where an env was truncated (and not at all without `bootstrap_truncation`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from core import distributed
from core.actions import to_env_action
from core.rollout import (
    CollectorState,
    HostCollector,
    JaxCollector,
    add_stats,
    evaluate,
    evaluate_jax_with_memory,
    zero_stats,
)
from core.transitions import Transition, observation_dtype
from core.validation import ConfigError
from envs.protocol import JaxEnv


@struct.dataclass
class OnPolicyCarry:
    agent: Any
    collector: CollectorState  # env state, the next obs to act on, its `first` flags, the memory before it
    key: jax.Array
    env_steps: jax.Array

    @property
    def obs(self) -> jax.Array:
        return self.collector.obs


def steps_per_iteration(agent) -> int:
    return agent.config.num_envs * agent.config.num_steps


def _bootstraps_truncation(agent) -> bool:
    return agent.config.bootstrap_truncation


def acting_function(agent):
    """The collector's acting function: memory, action and what the update needs of each step (log-prob and
    features), from the policy parameters."""

    def act(params, memory, obs, first, key):
        memory, features = agent.remember(params, memory, obs, first)
        action, logp = agent.sample(params, features, key)
        return memory, action, {"logp": logp, "feat": features}

    return act


def make_collector(agent, env: JaxEnv) -> JaxCollector:
    return JaxCollector(env, agent.config.num_envs, acting_function(agent), agent.initial_memory)


def init_carry(agent, collector: JaxCollector | None, spec, key: jax.Array,
               static: dict | None = None) -> OnPolicyCarry:
    agent_key, env_key, key = jax.random.split(key, 3)
    num_envs = agent.config.num_envs
    if collector is not None:
        state = collector.reset(env_key)
    else:  # host envs: a device mirror, replaced by the host collector's first observations
        obs = jnp.zeros((num_envs, *spec.observation_space.shape), observation_dtype(spec))
        state = CollectorState(None, obs, jnp.ones(num_envs, bool), agent.initial_memory(num_envs))
    learner = agent.init_with_data(agent_key, static) if static else agent.init(agent_key)
    return OnPolicyCarry(learner, state, key, jnp.zeros((), jnp.int32))


def _bootstrap_features(agent, params, memory, final_obs):
    """Features of the observation that followed a step within its episode (for the truncation bootstrap)."""
    return agent.remember(params, memory, final_obs, jnp.zeros(final_obs.shape[0], bool))[1]


def rollout_step(transition: Transition) -> dict:
    """The fields of one collected step that the agent's update reads."""
    return {"obs": transition.obs, "first": transition.first, "action": transition.action,
            "logp": transition.extras["logp"], "feat": transition.extras["feat"], "reward": transition.reward,
            "terminated": transition.terminated,
            "done": jnp.logical_or(transition.terminated, transition.truncated)}


def _env_step(agent, collector: JaxCollector, carry: OnPolicyCarry, _):
    key, act_key, env_key = jax.random.split(carry.key, 3)
    params = agent.policy_params(carry.agent)
    state, transition, episodes = collector.step(params, carry.collector, act_key, env_key)
    step = rollout_step(transition)
    if _bootstraps_truncation(agent):
        step["boot_feat"] = jax.lax.cond(
            transition.truncated.any(), lambda: _bootstrap_features(agent, params, state.carry, transition.next_obs),
            lambda: jnp.zeros_like(step["feat"]))
    return carry.replace(collector=state, key=key), (step, episodes)


def _last_features(agent, params, state: CollectorState):
    return agent.remember(params, state.carry, state.obs, state.first)[1]


def iteration(agent, collector: JaxCollector, carry: OnPolicyCarry, _=None, static: dict | None = None
              ) -> tuple[OnPolicyCarry, tuple]:
    """One PPO iteration on a JAX env: a num_steps rollout, then the agent's update (given `static`, the static
    data sources, through `update_with_data`). Pure."""
    memory = carry.collector.carry  # the carry at the rollout's start, from which training replays the sequences
    carry, (rollout, episodes) = jax.lax.scan(lambda c, x: _env_step(agent, collector, c, x), carry, None,
                                              length=agent.config.num_steps)
    rollout["last_feat"] = _last_features(agent, agent.policy_params(carry.agent), carry.collector)
    key, update_key = jax.random.split(carry.key)
    agent_state, metrics = _update(agent, carry.agent, rollout, memory, static, update_key)
    next_memory = _next_memory(agent, agent_state, carry.collector.carry, rollout, memory)
    carry = carry.replace(agent=agent_state, key=key, env_steps=carry.env_steps + steps_per_iteration(agent),
                          collector=carry.collector.replace(carry=next_memory))
    return carry, (metrics, jax.tree.map(jnp.sum, episodes))


def _update(agent, agent_state, rollout: dict, memory, static: dict | None, key: jax.Array):
    """The agent's update; with static data sources, its `update_with_data` hook."""
    if static:
        return agent.update_with_data(agent_state, rollout, memory, static, key)
    return agent.update(agent_state, rollout, memory, key)


def _next_memory(agent, agent_state, memory, rollout: dict, memory_start):
    """The carry for the next rollout: as acted, or (`refresh_carry`) recomputed with the updated params; an
    agent whose config has no `refresh_carry` keeps it as acted."""
    if not getattr(agent.config, "refresh_carry", False):
        return memory
    params = agent.policy_params(agent_state)
    return agent.remember_sequence(params, memory_start, rollout["obs"], rollout["first"])[0]


def make_train(agent, env: JaxEnv, total_steps: int):
    """A pure `train(key) -> (carry, stats)`; stats are per iteration (metrics, summed episode statistics)."""
    per_iteration = steps_per_iteration(agent)
    if total_steps % per_iteration:
        raise ValueError(f"total_steps ({total_steps}) must be a multiple of num_envs * num_steps ({per_iteration})")

    env = agent.wrap_env(env)
    collector = make_collector(agent, env)

    def train(key: jax.Array):
        carry = init_carry(agent, collector, env.spec, key)
        return jax.lax.scan(lambda c, x: iteration(agent, collector, c, x), carry, None,
                            length=total_steps // per_iteration)

    return train


def evaluation_policy(agent, space, params, deterministic: bool = True):
    """`policy(memory, obs, first, key) -> (memory, env action)` of the agent, for core/rollout's evaluation."""

    def policy(memory, obs, first, act_key):
        memory, action = agent.act(params, memory, obs, first, act_key, deterministic=deterministic)
        return memory, to_env_action(space, action)

    return policy


def evaluate_policy(agent, env: JaxEnv, params, key: jax.Array, episodes: int, deterministic: bool = True):
    """Returns of `episodes` episodes of the (wrapped) JAX env; jit-able."""
    env = agent.wrap_env(env)
    policy = evaluation_policy(agent, env.spec.action_space, params, deterministic)
    return evaluate_jax_with_memory(env, policy, agent.initial_memory(episodes), key, episodes)


# --- the loop object the run driver uses ------------------------------------------------------------------


class OnPolicyLoop:
    """`init_carry`, `advance` (exactly `chunk_steps` env steps), `evaluate` and `close` for one agent and env."""

    @staticmethod
    def iteration_steps(agent_config) -> int:
        """Env steps of one PPO iteration (a num_envs x num_steps rollout); budgets are whole iterations."""
        return agent_config.num_envs * agent_config.num_steps

    def __init__(self, agent, env, chunk_steps: int, seed: int, eval_env=None, static_data=None,
                 deterministic_eval: bool = True):
        per_iteration = steps_per_iteration(agent)
        if chunk_steps % per_iteration:
            raise ValueError(f"--log-every ({chunk_steps}) must be a multiple of num_envs * num_steps "
                             f"({agent.config.num_envs} x {agent.config.num_steps} = {per_iteration}), the env "
                             f"steps of one PPO iteration")
        if static_data and not agent.uses_static_data:
            raise ConfigError("the on-policy loop takes no static data (--dataset) for this agent; PPO learns from "
                              "its rollouts")
        self.static = dict(static_data or {})  # on the device, passed to each chunk, never in the carry
        self.agent = agent
        self.env = agent.wrap_env(env)  # a clear error if the agent needs what a host env cannot give
        self.eval_env = agent.wrap_env(eval_env) if eval_env is not None else self.env
        self.is_jax = isinstance(self.env, JaxEnv)
        self.seed = seed
        self.deterministic_eval = deterministic_eval
        self.chunk_steps = chunk_steps
        self.iterations = chunk_steps // per_iteration
        self.trace_count = 0  # times the chunk was traced (compiled); stays 1 over a run
        self.phase = "online"
        if self.is_jax:
            distributed.initialize_from_environment()
            self.collector = make_collector(agent, self.env)
            self._advance = jax.jit(self._jax_chunk, donate_argnums=0)
        else:
            self.host = HostRollout(agent, self.env, seed, self.static)
        if isinstance(self.eval_env, JaxEnv):
            self._evaluate_jax = jax.jit(self._jax_evaluate, static_argnums=(2, 3))
        else:
            self._greedy = jax.jit(lambda params, memory, obs, first, key, deterministic: evaluation_policy(
                agent, self.eval_env.spec.action_space, params, deterministic)(memory, obs, first, key),
                static_argnums=5)

    def warnings(self, total_steps: int) -> list[str]:
        """Every iteration updates, so no budget leaves the agent untrained (the off-policy warm-up can)."""
        return []

    def init_carry(self, key: jax.Array) -> OnPolicyCarry:
        collector = self.collector if self.is_jax else None
        if self.static:  # init_with_data reads the data on the host
            carry = init_carry(self.agent, collector, self.env.spec, key, self.static)
        else:  # one compile, not one per eager op of the set-up (dozens: most of a small run's start-up time)
            carry = jax.jit(lambda k: init_carry(self.agent, collector, self.env.spec, k))(key)
        if self.is_jax:
            carry = self._place(carry)
        return distributed.own_buffers(carry)  # both the JAX chunk and the host update donate it

    def _place(self, carry: OnPolicyCarry) -> OnPolicyCarry:
        """Env-axis fields sharded over the devices, the learner replicated (the memory carry too, as before)."""
        n = self.agent.config.num_envs
        collector = carry.collector
        env_part = distributed.shard_envs((collector.env_state, collector.obs, collector.first), n)
        agent, memory, key, steps = distributed.replicate((carry.agent, collector.carry, carry.key, carry.env_steps))
        return OnPolicyCarry(agent, CollectorState(*env_part, memory), key, steps)

    def advance(self, carry: OnPolicyCarry) -> tuple[OnPolicyCarry, dict]:
        if self.is_jax:
            return self._advance(carry, self.static)
        return self.host.advance(carry, self.iterations)

    def _jax_evaluate(self, params, key, episodes: int, deterministic: bool):
        policy = evaluation_policy(self.agent, self.eval_env.spec.action_space, params, deterministic)
        return evaluate_jax_with_memory(self.eval_env, policy, self.agent.initial_memory(episodes), key, episodes)

    def evaluate(self, carry: OnPolicyCarry, episodes: int) -> np.ndarray:
        """Returns of `episodes` episodes of the evaluation env."""
        key = jax.random.fold_in(carry.key, 1)
        params = self.agent.policy_params(carry.agent)
        if isinstance(self.eval_env, JaxEnv):
            return np.asarray(self._evaluate_jax(params, key, episodes, self.deterministic_eval))
        policy = lambda memory, obs, first, act_key: self._greedy(params, memory, obs, first, act_key,
                                                                  self.deterministic_eval)
        return evaluate(self.eval_env, policy, self.agent.initial_memory(episodes), key, episodes,
                        self.seed + 10_000)

    def evaluation_metrics(self, returns: np.ndarray) -> dict:
        return self.agent.evaluation_metrics(returns)

    def draw_evaluation(self, path) -> None:
        """On-policy agents draw no picture of their evaluations."""
        return None

    def close(self) -> None:
        if not self.is_jax:
            self.host.close()

    def _jax_chunk(self, carry: OnPolicyCarry, static: dict):
        self.trace_count += 1
        body = lambda c, x: iteration(self.agent, self.collector, c, x, static)
        carry, (metrics, episodes) = jax.lax.scan(body, carry, None, length=self.iterations)
        n = self.agent.config.num_envs
        collector = carry.collector
        env_state, obs, first = distributed.constrain_envs((collector.env_state, collector.obs, collector.first), n)
        carry = carry.replace(collector=collector.replace(env_state=env_state, obs=obs, first=first))
        return carry, {**jax.tree.map(jnp.mean, metrics), **jax.tree.map(jnp.sum, episodes)}


# --- host envs ---------------------------------------------------------------------------------------------


class HostRollout:
    """Collects rollouts with core/rollout's `HostCollector`; updates with one jitted call.

    The env is not part of the checkpoint: a resumed run starts fresh episodes (statistically the same run).
    """

    def __init__(self, agent, env_factory, seed: int, static: dict | None = None):
        self.agent = agent
        self.static = dict(static or {})
        self.collector = HostCollector(env_factory, agent.config.num_envs, seed, acting_function(agent),
                                       agent.initial_memory)
        self.state: CollectorState | None = None
        self._boot = jax.jit(lambda params, memory, final_obs: _bootstrap_features(agent, params, memory,
                                                                                   final_obs))
        self._features = jax.jit(lambda params, state: _last_features(agent, params, state))
        self._update = jax.jit(self._learn, donate_argnums=0)

    def _learn(self, carry: OnPolicyCarry, rollout: dict, memory, static: dict):
        key, update_key = jax.random.split(carry.key)
        agent_state, metrics = _update(self.agent, carry.agent, rollout, memory, static, update_key)
        steps = carry.env_steps + steps_per_iteration(self.agent)
        next_memory = _next_memory(self.agent, agent_state, carry.collector.carry, rollout, memory)
        return carry.replace(agent=agent_state, key=key, env_steps=steps,
                             collector=carry.collector.replace(carry=next_memory)), metrics

    def advance(self, carry: OnPolicyCarry, iterations: int) -> tuple[OnPolicyCarry, dict]:
        if self.state is None:
            self.state = self.collector.reset()
            carry = carry.replace(collector=carry.collector.replace(carry=self.agent.initial_memory(
                self.collector.num_envs)))
        totals = zero_stats()
        all_metrics = []
        for _ in range(iterations):
            carry, rollout, memory, totals = self._collect(carry, totals)
            carry, metrics = self._update(carry, rollout, memory, self.static)
            all_metrics.append(metrics)
        metrics = jax.tree.map(lambda *m: np.mean(np.stack(m)), *all_metrics) if all_metrics else {}
        return carry, {**metrics, **totals}

    def _collect(self, carry: OnPolicyCarry, totals: dict):
        params, memory0, key = self.agent.policy_params(carry.agent), carry.collector.carry, carry.key
        state = self.state.replace(carry=memory0)
        steps = []
        for _ in range(self.agent.config.num_steps):
            key, act_key = jax.random.split(key)
            state, transition, episodes = self.collector.step(params, state, act_key)
            step = rollout_step(transition)
            step["boot_feat"] = self._boot(params, state.carry, jnp.asarray(transition.next_obs))
            steps.append(step)
            totals = add_stats(totals, episodes)
        rollout = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *steps)
        rollout["last_feat"] = self._features(params, state)
        self.state = state
        device_state = carry.collector.replace(carry=state.carry)
        return carry.replace(collector=device_state, key=key), rollout, memory0, totals

    def close(self) -> None:
        self.collector.close()
