"""The off-policy loop (SAC and every agent built on it): act, step, store, update.

One loop with hooks (core/protocols.py `OffPolicyAgent`), whose defaults are SAC's behaviour:
- **batch sampler** `agent.sample_batch(buffers, state, key)` over the online replay and the static sources
  (offline datasets), default uniform from the online replay;
- **static data sources** (`static_data`, name -> replay buffer) held on the device, passed to every compiled
  chunk as an argument (not a constant baked into it) and never written into checkpoints;
- **update ratio**: every `train_every` iterations, `updates_per_step x num_envs x train_every` gradient steps,
  once `learning_starts` env steps are in and `agent.can_update(buffers)` holds; they are
  `agent.update_steps()` gradient steps per `update` call (1, or MOORL's K inner steps of a meta-iteration);
- **pretrain phase**: `agent.pretrain_updates()` gradient updates before the first env step (an offline agent:
  the whole run); its progress is a counter in the carry, so a resumed run continues in the right phase;
- **acting with a carry** (`agent.act_with_carry`, reset where `first`), through the collector of core/rollout;
  `agent.carry_with_action(carry, action)` then sees the action actually taken (a warm-up random one), for a
  carry that remembers the previous action (Dreamer's);
- **`agent.wrap_env`**, applied to the training and the evaluation env, and a separate evaluation env;
- **data-derived state**: `agent.init_with_data(key, static)` and `agent.replay_capacity(static)`, for an agent
  whose learner constants or online buffer size depend on its dataset;
- **diagnostics**: `agent.diagnostics(state, buffers, key)` at every evaluation, logged as `eval_<name>`;
- **evaluation rollouts**: `agent.evaluation_rollouts(state, eval_env, key, seed)`, metrics from rollouts of the
  agent's own (a skill agent's coverage and goal reaching) that join the evaluation's metrics and eval.json, and
  a picture of them that `draw_evaluation(path)` writes (the run's `evaluation.png`).

The run's step counts pretrain updates, then env steps. On JAX envs a chunk (act, vmapped env step, replay
add, updates) is one `lax.scan` under one `jit`; on host envs each iteration dispatches its updates, steps the
host env while they run, then stores the transition and picks the next action (`HostStepper`), with the
learner donated so the replay is updated in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from core import distributed, replay
from core.actions import to_env_action
from core.protocols import Buffers
from core.rollout import (
    CollectorState,
    HostCollector,
    JaxCollector,
    add_stats,
    evaluate,
    evaluate_jax_with_memory,
    zero_stats,
)
from core.rollout.packing import Layout
from core.transitions import Transition, example
from core.validation import ConfigError
from envs.protocol import JaxEnv


@struct.dataclass
class OffPolicyCarry:
    agent: Any
    replay: replay.ReplayState
    collector: CollectorState  # env state, next obs, first flags, acting carry (on host envs a device mirror)
    key: jax.Array
    env_steps: jax.Array
    pretrain_updates: jax.Array  # updates done in the pretrain phase

    @property
    def obs(self) -> jax.Array:
        return self.collector.obs


def updates_per_burst(config) -> int:
    """Gradient steps done every `train_every` iterations; a whole number by validation."""
    return int(round(config.updates_per_step * config.num_envs * config.train_every))


def check_update_ratio(config, update_steps: int = 1) -> None:
    """The burst is a whole number of gradient steps, and of `update` calls of `update_steps` steps each."""
    exact = config.updates_per_step * config.num_envs * config.train_every
    if abs(exact - round(exact)) > 1e-9 or round(exact) < 1:
        raise ConfigError(f"updates_per_step x num_envs x train_every = {config.updates_per_step} x "
                          f"{config.num_envs} x {config.train_every} = {exact:g} updates per burst; it must be a "
                          f"whole number >= 1")
    if round(exact) % update_steps:
        raise ConfigError(f"updates_per_step x num_envs x train_every = {round(exact)} gradient steps per burst; "
                          f"it must be a multiple of the agent's {update_steps} steps per update call")


class OffPolicyLoop:
    """`init_carry`, `advance` (exactly `chunk_steps` steps), `evaluate` and `close` for one agent and env."""

    @staticmethod
    def iteration_steps(agent_config) -> int:
        """Env steps of one loop iteration (one vmapped env step); budgets and intervals are whole iterations."""
        return agent_config.num_envs

    def __init__(self, agent, env, chunk_steps: int, seed: int, eval_env=None,
                 static_data: dict[str, replay.ReplayState] | None = None, deterministic_eval: bool = True):
        check_update_ratio(agent.config, agent.update_steps())
        self.agent = agent
        self.seed = seed
        self.chunk_steps = chunk_steps
        self.static = dict(static_data or {})
        self.deterministic_eval = deterministic_eval
        self.env = agent.wrap_env(env)
        self.eval_env = agent.wrap_env(eval_env) if eval_env is not None else self.env
        self.is_jax = isinstance(self.env, JaxEnv)
        self.pretrain_total = self._pretrain_total(agent, chunk_steps)
        if self.pretrain_total != 0 and chunk_steps % agent.update_steps():
            raise ConfigError(f"--log-every {chunk_steps} must be a multiple of the agent's {agent.update_steps()} "
                              f"gradient steps per update call, since a pretrain chunk is whole calls")
        self.diagnostics: dict = {}  # the agent's diagnostics and rollout metrics at the last evaluation
        self.drawing = None  # what the agent draws of its last evaluation rollouts (evaluation_rollouts)
        self.trace_count = 0  # times the online JAX chunk was traced (compiled); stays 1 over a run
        self.phase = "online" if self.pretrain_total == 0 else "pretrain"  # None: offline, all pretrain
        act = lambda params, carry, obs, first, key: _behaviour(agent, params, carry, obs, first, key)
        self._pretrain = jax.jit(self._pretrain_chunk, donate_argnums=0)
        self._greedy = jax.jit(self._eval_policy, static_argnums=0)
        if self.is_jax:
            distributed.initialize_from_environment()
            self.collector = JaxCollector(self.env, agent.config.num_envs, act, agent.initial_carry)
            self._advance = jax.jit(self._jax_chunk, donate_argnums=0)
        else:
            self.host = HostStepper(self, act)
        if isinstance(self.eval_env, JaxEnv):
            self._evaluate_jax = jax.jit(self._jax_evaluate, static_argnums=(1, 2))

    @staticmethod
    def _pretrain_total(agent, chunk_steps: int) -> int | None:
        """Pretrain updates, rounded up to whole chunks (a chunk is one phase); None: the whole run (offline)."""
        if agent.offline:
            return None
        updates = agent.pretrain_updates()
        return -(-updates // chunk_steps) * chunk_steps

    def warnings(self, total_steps: int) -> list[str]:
        """One line per way a run of `total_steps` steps is not the run its settings suggest."""
        if self.agent.offline:
            return []
        notes = []
        asked = self.agent.pretrain_updates()
        if self.pretrain_total != asked:
            notes.append(f"pretrain updates {asked} rounded up to {self.pretrain_total}, whole chunks of "
                         f"--log-every {self.chunk_steps}")
        env_steps = total_steps - self.pretrain_total
        learning_starts = self.agent.config.learning_starts
        if env_steps < learning_starts:
            notes.append(f"{env_steps} env steps < learning_starts {learning_starts}: the agent never updates "
                         f"online, the run only collects random-action experience")
        return notes

    # --- the carry ----------------------------------------------------------------------------------------------
    def init_carry(self, key: jax.Array) -> OffPolicyCarry:
        agent_key, env_key, key = jax.random.split(key, 3)
        # The agents build their learner state in one compiled call of their own (init_with_data may read the data
        # on the host); the rest of the set-up is compiled here: eagerly, each op would be a compile of its own.
        learner = self.agent.init_with_data(agent_key, self.static)
        capacity = self.agent.replay_capacity(self.static)
        carry = jax.jit(self._fresh_carry, static_argnums=1)(learner, capacity, env_key, key)
        if self.is_jax:
            carry = self._place(carry)
        return distributed.own_buffers(carry)  # the chunks donate it

    def _fresh_carry(self, learner, capacity: int, env_key: jax.Array, key: jax.Array) -> OffPolicyCarry:
        """An empty replay of `capacity` rows, the collector at its first observations, the counters at zero."""
        config = self.agent.config
        row = example(self.env.spec, self.agent.transition_extras())
        buffer = replay.init(row, capacity)
        if self.is_jax:
            collector = self.collector.reset(env_key)
        else:
            obs = jnp.zeros((config.num_envs, *self.env.spec.observation_space.shape), row.obs.dtype)
            collector = CollectorState(None, obs, jnp.ones(config.num_envs, bool),
                                       self.agent.initial_carry(config.num_envs))
        zero = jnp.zeros((), jnp.int32)
        return OffPolicyCarry(learner, buffer, collector, key, zero, zero)

    def _place(self, carry: OffPolicyCarry) -> OffPolicyCarry:
        """JAX envs: the env batch sharded over the visible devices (core/distributed.py), the learner replicated."""
        collector = distributed.shard_envs(carry.collector, self.agent.config.num_envs)
        learner = distributed.replicate((carry.agent, carry.replay, carry.key, carry.env_steps,
                                         carry.pretrain_updates))
        return OffPolicyCarry(learner[0], learner[1], collector, *learner[2:])

    # --- advancing ----------------------------------------------------------------------------------------------
    def in_pretrain(self, carry: OffPolicyCarry) -> bool:
        if self.pretrain_total is None:
            return True
        return int(carry.pretrain_updates) < self.pretrain_total

    def advance(self, carry: OffPolicyCarry) -> tuple[OffPolicyCarry, dict]:
        if self.in_pretrain(carry):
            self.phase = "pretrain"
            return self._pretrain(carry, self.static)
        self.phase = "online"
        if self.is_jax:
            return self._advance(carry, self.static)
        return self.host.advance(carry, self.chunk_steps)

    def _pretrain_chunk(self, carry: OffPolicyCarry, static: dict):
        """`chunk_steps` gradient updates and no env step."""
        key, update_key = jax.random.split(carry.key)
        buffers = Buffers(carry.replay, static)
        ready = self.agent.can_update(buffers)
        calls = self.chunk_steps // self.agent.update_steps()
        agent_state, metrics = _gated_updates(self.agent, carry.agent, buffers, update_key, calls, ready)
        carry = carry.replace(agent=agent_state, key=key, pretrain_updates=carry.pretrain_updates + self.chunk_steps)
        return carry, {**metrics, "updated": ready}

    def _jax_iteration(self, carry: OffPolicyCarry, static: dict):
        num_envs = self.agent.config.num_envs
        key, act_key, env_key = jax.random.split(carry.key, 3)
        params = (carry.agent, carry.env_steps)
        collector, transition, episodes = self.collector.step(params, carry.collector, act_key, env_key)
        carry = carry.replace(
            replay=replay.add(carry.replay, transition),
            collector=collector,
            key=key,
            env_steps=carry.env_steps + num_envs,
        )
        carry, metrics = _learn(self.agent, carry, static)
        return carry, (metrics, episodes)

    def _jax_chunk(self, carry: OffPolicyCarry, static: dict):
        self.trace_count += 1
        iterations = self.chunk_steps // self.agent.config.num_envs
        carry, (metrics, episodes) = jax.lax.scan(lambda c, _: self._jax_iteration(c, static), carry, None,
                                                  length=iterations)
        collector = distributed.constrain_envs(carry.collector, self.agent.config.num_envs)
        return carry.replace(collector=collector), {**jax.tree.map(lambda m: m[-1], metrics),
                                                    **jax.tree.map(jnp.sum, episodes)}

    # --- evaluation ---------------------------------------------------------------------------------------------
    def _eval_policy(self, deterministic: bool, agent_state, memory, obs, first, key):
        memory, action, _ = self.agent.act_with_carry(agent_state, memory, obs, first, key, deterministic)
        return memory, to_env_action(self.eval_env.spec.action_space, action)

    def _jax_evaluate(self, carry: OffPolicyCarry, episodes: int, deterministic: bool):
        policy = lambda memory, obs, first, key: self._eval_policy(deterministic, carry.agent, memory, obs, first,
                                                                   key)
        memory = self.agent.initial_carry(episodes)
        return evaluate_jax_with_memory(self.eval_env, policy, memory, jax.random.fold_in(carry.key, 1), episodes)

    def evaluate(self, carry: OffPolicyCarry, episodes: int) -> np.ndarray:
        """Returns of `episodes` episodes of the evaluation env; the agent's diagnostics are computed alongside."""
        diagnostics = self.agent.diagnostics(carry.agent, Buffers(carry.replay, self.static),
                                             jax.random.fold_in(carry.key, 2))
        rollout_metrics, self.drawing = self.agent.evaluation_rollouts(carry.agent, self.eval_env,
                                                                       jax.random.fold_in(carry.key, 3),
                                                                       self.seed + 20_000)
        self.diagnostics = {name: float(value) for name, value in {**diagnostics, **rollout_metrics}.items()}
        if isinstance(self.eval_env, JaxEnv):
            return np.asarray(self._evaluate_jax(carry, episodes, self.deterministic_eval))
        policy = lambda memory, obs, first, key: self._greedy(self.deterministic_eval, carry.agent, memory, obs,
                                                              first, key)
        memory = self.agent.initial_carry(episodes)
        return evaluate(self.eval_env, policy, memory, jax.random.fold_in(carry.key, 1), episodes,
                        self.seed + 10_000)

    def evaluation_metrics(self, returns: np.ndarray) -> dict:
        return {**self.agent.evaluation_metrics(returns), **self.diagnostics}

    def draw_evaluation(self, path) -> Path | None:
        """The agent's picture of the last evaluation's rollouts at `path` (a PNG), or None if it draws none."""
        return self.agent.draw_evaluation(self.drawing, Path(path)) if self.drawing is not None else None

    def close(self) -> None:
        if not self.is_jax:
            self.host.close()


def _behaviour(agent, params, carry, obs, first, key):
    """Uniform random actions until `learning_starts` env steps, the agent's stochastic policy after; the carry
    is told the action taken (`agent.carry_with_action`)."""
    agent_state, env_steps = params
    carry, policy_action, extras = agent.act_with_carry(agent_state, carry, obs, first, key)
    random_action = jax.random.uniform(key, (obs.shape[0], *agent.spec.action_space.shape), minval=-1, maxval=1)
    action = jnp.where(env_steps < agent.config.learning_starts, random_action, policy_action)
    return agent.carry_with_action(carry, action), action, extras


def _updates(agent, agent_state, buffers: Buffers, key: jax.Array, count: int):
    """`count` update calls, each on a batch from `agent.sample_batch`; metrics averaged over them."""

    def one(state, update_key):
        sample_key, step_key = jax.random.split(update_key)
        return agent.update(state, agent.sample_batch(buffers, state, sample_key), step_key)

    state, metrics = jax.lax.scan(one, agent_state, jax.random.split(key, count))
    return state, jax.tree.map(jnp.mean, metrics)


def _learn(agent, carry: OffPolicyCarry, static: dict) -> tuple[OffPolicyCarry, dict]:
    """A burst of updates on the iterations that end a `train_every` period once the warm-up is over; zero
    metrics (same structure) otherwise.

    The metrics carry `updated`, whether these are real: the run driver drops the placeholder zeros from the
    log rather than report a loss of 0 and an alpha of 0 before the first update.
    """
    config = agent.config
    buffers = Buffers(carry.replay, static)
    key, update_key = jax.random.split(carry.key)
    period_ends = (carry.env_steps // config.num_envs) % config.train_every == 0
    ready = (carry.env_steps >= config.learning_starts) & agent.can_update(buffers) & period_ends
    count = updates_per_burst(config) // agent.update_steps()
    agent_state, metrics = _gated_updates(agent, carry.agent, buffers, update_key, count, ready)
    return carry.replace(agent=agent_state, key=key), {**metrics, "updated": ready}


def _gated_updates(agent, agent_state, buffers: Buffers, key: jax.Array, count: int, ready: jax.Array):
    """`_updates` where `ready`, else the state unchanged and zero metrics of the same structure. The updates
    are a nested jit so that they are traced once for both the metrics' shapes and the `cond` (a world-model
    agent's update takes seconds to trace); it is inlined into the chunk's one compiled program."""
    updates = jax.jit(lambda state, key: _updates(agent, state, buffers, key, count))
    metric_shapes = jax.eval_shape(updates, agent_state, key)[1]
    skip = lambda state, _: (state, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), metric_shapes))
    return jax.lax.cond(ready, updates, skip, agent_state, key)


# --- host envs ---------------------------------------------------------------------------------------------


class HostStepper:
    """Runs the off-policy iteration around a host gymnasium vector env (core/rollout `HostCollector`).

    The host env steps while the device updates: each iteration first dispatches the burst of updates (JAX
    dispatch returns at once), then steps the host env with the action already chosen, then stores the
    transition and picks the next action with the updated policy. So an update draws its batch from the
    transitions stored before this iteration's step (on JAX envs, where nothing runs in parallel, it also sees
    this step's), and the MuJoCo step, which a big update would otherwise wait on, costs nothing. The host
    arrays of a step cross to the device as one packed transfer (core/rollout/packing.py), and the next action
    comes back in env units, so nothing is computed eagerly on the host.
    """

    def __init__(self, loop: OffPolicyLoop, act):
        self.loop = loop
        self.agent = loop.agent
        self.collector = HostCollector(loop.env, loop.agent.config.num_envs, loop.seed, act, loop.agent.initial_carry)
        self.state: CollectorState | None = None  # the host-side collector state (numpy obs)
        self.next_action = None  # (action, env_action, extras) for self.state.obs, still on the device
        self._learn = jax.jit(self._learn_ahead, donate_argnums=0)
        self._store_and_act = jax.jit(self._store_act, donate_argnums=0, static_argnums=3)
        self._first_action = jax.jit(self._pick_action)

    def _pick_action(self, carry: OffPolicyCarry, obs, first):
        key, act_key = jax.random.split(carry.key)
        params = (carry.agent, carry.env_steps)
        agent_carry, action, extras = _behaviour(self.agent, params, carry.collector.carry, obs, first, act_key)
        env_action = to_env_action(self.loop.env.spec.action_space, action)
        carry = carry.replace(key=key, collector=carry.collector.replace(carry=agent_carry))
        return carry, (action, env_action, extras)

    def _learn_ahead(self, carry: OffPolicyCarry, static: dict):
        """The updates of the iteration under way, scheduled by its env-step count (the step not yet stored)."""
        stepped = carry.env_steps + self.agent.config.num_envs
        carry, metrics = _learn(self.agent, carry.replace(env_steps=stepped), static)
        return carry.replace(env_steps=carry.env_steps - self.agent.config.num_envs), metrics

    def _store_act(self, carry: OffPolicyCarry, host_part, device_part, layout: Layout | None):
        host_part = layout.unpack(host_part) if layout is not None else host_part
        obs, reward, next_obs, terminated, truncated, first, acting_obs, acting_first = host_part
        action, extras = device_part
        transition = Transition(obs, action, reward, next_obs, terminated, truncated, first, extras)
        carry = carry.replace(replay=replay.add(carry.replay, transition),
                              env_steps=carry.env_steps + self.agent.config.num_envs)
        return self._pick_action(carry, acting_obs, acting_first)

    def advance(self, carry: OffPolicyCarry, chunk_steps: int) -> tuple[OffPolicyCarry, dict]:
        if self.state is None:
            self.state = self.collector.reset()
            carry, self.next_action = self._first_action(carry, jnp.asarray(self.state.obs),
                                                         jnp.asarray(self.state.first))
        totals, metrics = zero_stats(), {}
        for _ in range(chunk_steps // self.agent.config.num_envs):
            carry, metrics = self._learn(carry, self.loop.static)  # runs on the device during the env step
            action, env_action, extras = self.next_action
            state, transition, episodes = self.collector.env_step(self.state, None, action, env_action, extras)
            host_part = (transition.obs, transition.reward, transition.next_obs, transition.terminated,
                         transition.truncated, transition.first, state.obs, state.first)
            layout = Layout.of(host_part)
            packed = layout.pack(host_part) if layout is not None else host_part
            carry, self.next_action = self._store_and_act(carry, packed, (action, extras), layout)
            self.state = state
            totals = add_stats(totals, episodes)
        return carry, {**metrics, **totals}

    def close(self) -> None:
        self.collector.close()
