"""The on-policy loop (PPO and agents built on it): collect a rollout of num_envs x num_steps, then update on it.

On JAX envs one iteration (rollout, GAE, epochs, minibatches) is pure, and `advance` runs a whole chunk of
iterations as one `lax.scan` under one `jit`, with the env batch sharded over the visible devices
(core/distributed.py). `make_train(agent, env, total_steps)` is the same iteration as a pure `train(key)` for
`jax.jit(jax.vmap(train))` over seeds. On host gymnasium envs the rollout steps the host vector env around a
jitted policy step, then runs the same jitted update.

The agent provides `init(key)`, `initial_memory(num_envs)`, `remember(params, memory, obs, first)`,
`sample(params, features, key, deterministic)`, `act(...)`, and `update(state, rollout, memory, key)`, and its
config `num_envs` and `num_steps`. The memory carry crosses rollout boundaries; `first` marks episode starts.
An agent may adapt the env it is trained on (`wrap_env(env)`, e.g. previous-action inputs); the loops apply it.
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
from core.rollout import batch_reset, batch_step, evaluate_host, evaluate_jax_with_memory, finished_episode_stats
from envs.protocol import JaxEnv


@struct.dataclass
class OnPolicyCarry:
    agent: Any
    env_state: Any  # batched JAX env state; None on host envs
    obs: jax.Array  # [num_envs, ...] the next observation to act on
    first: jax.Array  # [num_envs] True where obs starts an episode (the memory resets there)
    memory: Any  # the agent's memory carry before absorbing obs
    key: jax.Array
    env_steps: jax.Array


def steps_per_iteration(agent) -> int:
    return agent.config.num_envs * agent.config.num_steps


def agent_env(agent, env):
    """The env as the agent sees it (`agent.wrap_env`, if it has one)."""
    wrap = getattr(agent, "wrap_env", None)
    return env if wrap is None else wrap(env)


def _bootstraps_truncation(agent) -> bool:
    return getattr(agent.config, "bootstrap_truncation", True)


def init_carry(agent, spec, key: jax.Array, env: JaxEnv | None) -> OnPolicyCarry:
    agent_key, env_key, key = jax.random.split(key, 3)
    num_envs = agent.config.num_envs
    env_state, obs = None, jnp.zeros((num_envs, *spec.observation_space.shape))
    if env is not None:
        env_state, timestep = batch_reset(env, env_key, num_envs)
        obs = timestep.obs
    return OnPolicyCarry(agent.init(agent_key), env_state, obs, jnp.ones(num_envs, bool),
                         agent.initial_memory(num_envs), key, jnp.zeros((), jnp.int32))


def _policy_step(agent, params, memory, obs, first, key):
    """What the rollout records about acting on `obs`: -> (memory, action, logp, features)."""
    memory, features = agent.remember(params, memory, obs, first)
    action, logp = agent.sample(params, features, key)
    return memory, action, logp, features


def _bootstrap_features(agent, params, memory, final_obs):
    """Features of the observation that followed a step within its episode (for the truncation bootstrap)."""
    return agent.remember(params, memory, final_obs, jnp.zeros(final_obs.shape[0], bool))[1]


def _env_step(agent, env: JaxEnv, carry: OnPolicyCarry, _):
    key, act_key, env_key = jax.random.split(carry.key, 3)
    params = carry.agent.params
    memory, action, logp, features = _policy_step(agent, params, carry.memory, carry.obs, carry.first, act_key)
    space = env.spec.action_space
    env_state, timestep = batch_step(env, carry.env_state, to_env_action(space, action), env_key)
    transition = {"obs": carry.obs, "first": carry.first, "action": action, "logp": logp, "feat": features,
                  "reward": timestep.reward, "terminated": timestep.terminated, "done": timestep.done}
    if _bootstraps_truncation(agent):
        final_obs = timestep.info["final_obs"]
        transition["boot_feat"] = jax.lax.cond(
            timestep.truncated.any(), lambda: _bootstrap_features(agent, params, memory, final_obs),
            lambda: jnp.zeros_like(features))
    carry = carry.replace(env_state=env_state, obs=timestep.obs, first=timestep.done, memory=memory, key=key)
    return carry, (transition, finished_episode_stats(timestep))


def iteration(agent, env: JaxEnv, carry: OnPolicyCarry, _=None) -> tuple[OnPolicyCarry, tuple[dict, dict]]:
    """One PPO iteration on a JAX env: a num_steps rollout, then the agent's update. Pure."""
    memory = carry.memory  # the carry at the rollout's start, from which training replays the sequences
    carry, (rollout, episodes) = jax.lax.scan(lambda c, x: _env_step(agent, env, c, x), carry, None,
                                              length=agent.config.num_steps)
    rollout["last_feat"] = agent.remember(carry.agent.params, carry.memory, carry.obs, carry.first)[1]
    key, update_key = jax.random.split(carry.key)
    agent_state, metrics = agent.update(carry.agent, rollout, memory, update_key)
    carry = carry.replace(agent=agent_state, key=key, env_steps=carry.env_steps + steps_per_iteration(agent),
                          memory=_next_memory(agent, agent_state, carry.memory, rollout, memory))
    return carry, (metrics, jax.tree.map(jnp.sum, episodes))


def _next_memory(agent, agent_state, memory, rollout: dict, memory_start):
    """The carry for the next rollout: as acted, or (`refresh_carry`) recomputed with the updated params."""
    if not getattr(agent.config, "refresh_carry", False):
        return memory
    return agent.remember_sequence(agent_state.params, memory_start, rollout["obs"], rollout["first"])[0]


def make_train(agent, env: JaxEnv, total_steps: int):
    """A pure `train(key) -> (carry, stats)`; stats are per iteration (metrics, summed episode statistics)."""
    per_iteration = steps_per_iteration(agent)
    if total_steps % per_iteration:
        raise ValueError(f"total_steps ({total_steps}) must be a multiple of num_envs * num_steps ({per_iteration})")

    env = agent_env(agent, env)

    def train(key: jax.Array):
        carry = init_carry(agent, env.spec, key, env)
        return jax.lax.scan(lambda c, x: iteration(agent, env, c, x), carry, None, length=total_steps // per_iteration)

    return train


def evaluate_policy(agent, env: JaxEnv, params, key: jax.Array, episodes: int) -> jax.Array:
    """Deterministic-policy returns of `episodes` episodes; jit-able."""
    env = agent_env(agent, env)
    space = env.spec.action_space

    def policy(memory, obs, first, act_key):
        memory, action = agent.act(params, memory, obs, first, act_key, deterministic=True)
        return memory, to_env_action(space, action)

    return evaluate_jax_with_memory(env, policy, agent.initial_memory(episodes), key, episodes)


# --- the loop object the run driver uses ------------------------------------------------------------------


class OnPolicyLoop:
    """`init_carry`, `advance` (exactly `chunk_steps` env steps), `evaluate` and `close` for one agent and env."""

    @staticmethod
    def iteration_steps(agent_config) -> int:
        """Env steps of one PPO iteration (a num_envs x num_steps rollout); budgets are whole iterations."""
        return agent_config.num_envs * agent_config.num_steps

    def __init__(self, agent, env, chunk_steps: int, seed: int):
        per_iteration = steps_per_iteration(agent)
        if chunk_steps % per_iteration:
            raise ValueError(f"--log-every ({chunk_steps}) must be a multiple of num_envs * num_steps "
                             f"({agent.config.num_envs} x {agent.config.num_steps} = {per_iteration}), the env "
                             f"steps of one PPO iteration")
        self.agent = agent
        self.is_jax = isinstance(env, JaxEnv)
        self.env = agent_env(agent, env) if self.is_jax else env
        self.seed = seed
        self.chunk_steps = chunk_steps
        self.iterations = chunk_steps // per_iteration
        self.trace_count = 0  # times the chunk was traced (compiled); stays 1 over a run
        if self.is_jax:
            distributed.initialize_from_environment()
            self._advance = jax.jit(self._jax_chunk, donate_argnums=0)
            self._evaluate = jax.jit(lambda params, key, n: evaluate_policy(agent, self.env, params, key, n),
                                     static_argnums=2)
        else:
            agent_env(agent, env)  # a clear error if the agent needs what a host env cannot give
            self.host = HostRollout(agent, env, seed)

    def warnings(self, total_steps: int) -> list[str]:
        """Every iteration updates, so no budget leaves the agent untrained (the off-policy warm-up can)."""
        return []

    def init_carry(self, key: jax.Array) -> OnPolicyCarry:
        carry = init_carry(self.agent, self.env.spec, key, self.env if self.is_jax else None)
        if self.is_jax:
            carry = self._place(carry)
        return distributed.own_buffers(carry)  # both the JAX chunk and the host update donate it

    def _place(self, carry: OnPolicyCarry) -> OnPolicyCarry:
        """Env-axis fields sharded over the devices, the learner replicated."""
        n = self.agent.config.num_envs
        envs_part = distributed.shard_envs((carry.env_state, carry.obs, carry.first), n)
        rest = distributed.replicate((carry.agent, carry.memory, carry.key, carry.env_steps))
        return OnPolicyCarry(rest[0], *envs_part, rest[1], rest[2], rest[3])

    def advance(self, carry: OnPolicyCarry) -> tuple[OnPolicyCarry, dict]:
        if self.is_jax:
            return self._advance(carry)
        return self.host.advance(carry, self.iterations)

    def evaluate(self, carry: OnPolicyCarry, episodes: int) -> np.ndarray:
        key = jax.random.fold_in(carry.key, 1)
        if self.is_jax:
            return np.asarray(self._evaluate(carry.agent.params, key, episodes))
        return self.host.evaluate(carry.agent.params, key, episodes, self.seed + 10_000)

    def close(self) -> None:
        if not self.is_jax:
            self.host.close()

    def _jax_chunk(self, carry: OnPolicyCarry):
        self.trace_count += 1
        body = lambda c, x: iteration(self.agent, self.env, c, x)
        carry, (metrics, episodes) = jax.lax.scan(body, carry, None, length=self.iterations)
        n = self.agent.config.num_envs
        env_state, obs, first = distributed.constrain_envs((carry.env_state, carry.obs, carry.first), n)
        carry = carry.replace(env_state=env_state, obs=obs, first=first)
        return carry, {**jax.tree.map(jnp.mean, metrics), **jax.tree.map(jnp.sum, episodes)}


# --- host envs ---------------------------------------------------------------------------------------------


class HostRollout:
    """Collects rollouts from a host gymnasium vector env with a jitted policy step; updates with one jitted call.

    The env is not part of the checkpoint: a resumed run starts fresh episodes (statistically the same run).
    """

    def __init__(self, agent, env_factory, seed: int):
        self.agent = agent
        self.space = env_factory.spec.action_space
        self.env_factory = env_factory
        self.vec = env_factory.vector(agent.config.num_envs, seed)
        self.started = False
        self._act = jax.jit(lambda params, memory, obs, first, key: _policy_step(agent, params, memory, obs,
                                                                                 first, key))
        self._boot = jax.jit(lambda params, memory, final_obs: _bootstrap_features(agent, params, memory,
                                                                                   final_obs))
        self._features = jax.jit(lambda params, memory, obs, first: agent.remember(params, memory, obs, first)[1])
        self._update = jax.jit(self._learn, donate_argnums=0)
        self._greedy = jax.jit(lambda params, memory, obs, first, key: agent.act(params, memory, obs, first, key,
                                                                                 deterministic=True))

    def _learn(self, carry: OnPolicyCarry, rollout: dict, memory):
        key, update_key = jax.random.split(carry.key)
        agent_state, metrics = self.agent.update(carry.agent, rollout, memory, update_key)
        steps = carry.env_steps + steps_per_iteration(self.agent)
        next_memory = _next_memory(self.agent, agent_state, carry.memory, rollout, memory)
        return carry.replace(agent=agent_state, key=key, env_steps=steps, memory=next_memory), metrics

    def advance(self, carry: OnPolicyCarry, iterations: int) -> tuple[OnPolicyCarry, dict]:
        if not self.started:
            timestep = self.vec.reset()
            carry = carry.replace(obs=jnp.asarray(timestep.obs), first=jnp.ones(self.vec.num_envs, bool),
                                  memory=self.agent.initial_memory(self.vec.num_envs))
            self.started = True
        totals = {"episodes": 0.0, "return_sum": 0.0, "length_sum": 0.0}
        all_metrics = []
        for _ in range(iterations):
            carry, rollout, memory = self._collect(carry, totals)
            carry, metrics = self._update(carry, rollout, memory)
            all_metrics.append(metrics)
        metrics = jax.tree.map(lambda *m: np.mean(np.stack(m)), *all_metrics) if all_metrics else {}
        return carry, {**metrics, **totals}

    def _collect(self, carry: OnPolicyCarry, totals: dict):
        params, memory0, key = carry.agent.params, carry.memory, carry.key
        obs, first, memory = carry.obs, carry.first, carry.memory
        steps = []
        for _ in range(self.agent.config.num_steps):
            key, act_key = jax.random.split(key)
            memory, action, logp, features = self._act(params, memory, obs, first, act_key)
            timestep = self.vec.step(np.asarray(to_env_action(self.space, action)))
            final_obs = jnp.asarray(timestep.info["final_obs"])
            done = np.logical_or(timestep.terminated, timestep.truncated)
            steps.append({"obs": obs, "first": first, "action": action, "logp": logp, "feat": features,
                          "boot_feat": self._boot(params, memory, final_obs), "reward": timestep.reward,
                          "terminated": timestep.terminated, "done": done})
            _count_episodes(totals, timestep, done)
            obs, first = jnp.asarray(timestep.obs), jnp.asarray(done)
        rollout = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *steps)
        rollout["last_feat"] = self._features(params, memory, obs, first)
        return carry.replace(obs=obs, first=first, memory=memory, key=key), rollout, memory0

    def evaluate(self, params, key: jax.Array, episodes: int, seed: int) -> np.ndarray:
        state = {"memory": self.agent.initial_memory(episodes), "first": jnp.ones(episodes, bool)}

        def policy(obs, act_key):
            state["memory"], action = self._greedy(params, state["memory"], obs, state["first"], act_key)
            state["first"] = jnp.zeros(episodes, bool)  # each slot runs exactly one episode
            return to_env_action(self.space, action)

        return evaluate_host(self.env_factory, policy, key, episodes, seed)

    def close(self) -> None:
        self.vec.close()


def _count_episodes(totals: dict, timestep, done: np.ndarray) -> None:
    if done.any():
        totals["episodes"] += float(done.sum())
        totals["return_sum"] += float(np.asarray(timestep.info["episode_return"])[done].sum())
        totals["length_sum"] += float(np.asarray(timestep.info["episode_length"])[done].sum())
