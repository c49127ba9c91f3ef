"""One collector interface, two implementations: JAX envs (pure, inside jit/scan, vmapped over envs) and host
gymnasium vector envs (a jitted acting function around a host env step).

Both step a batch of envs with an acting function

    act(params, carry, obs[B, ...], first[B], key) -> (carry, action[B, ...], extras)

that takes and returns an optional recurrent carry (`None` for a memoryless policy; PPO's memory, a world
model's posterior, a per-episode skill otherwise) and is told by `first` where an episode starts. `action` is in
the agent's units (core/actions.py rescales it for the env); `extras` (a dict of [B, ...] arrays, e.g. a
behaviour log-prob) goes into the transition. Each step returns the `Transition` of core/transitions.py and the
episode statistics of core/rollout/episodes.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from core.actions import to_env_action
from core.rollout.episodes import add_stats, finished_episode_stats, zero_stats
from core.rollout.vector import batch_reset, batch_step
from core.transitions import from_step
from envs.protocol import JaxEnv

ActFn = Callable[[Any, Any, jax.Array, jax.Array, jax.Array], tuple[Any, jax.Array, dict]]


def memoryless(policy: Callable[[Any, jax.Array, jax.Array], jax.Array]) -> ActFn:
    """An `ActFn` from `policy(params, obs, key) -> action`, with no carry and no extras."""
    return lambda params, carry, obs, first, key: (carry, policy(params, obs, key), {})


@struct.dataclass
class CollectorState:
    env_state: Any  # the batched JAX env state; None on host envs (the host env keeps its own)
    obs: jax.Array  # [B, ...] the observation to act on next
    first: jax.Array  # [B] True where obs starts an episode
    carry: Any  # the acting function's carry before it sees obs


class JaxCollector:
    """Steps `num_envs` copies of a JAX env under jit: every method is pure."""

    def __init__(self, env: JaxEnv, num_envs: int, act: ActFn, initial_carry: Callable[[int], Any] = lambda n: None):
        self.env = env
        self.num_envs = num_envs
        self.act = act
        self.initial_carry = initial_carry
        self.space = env.spec.action_space

    def reset(self, key: jax.Array) -> CollectorState:
        env_state, timestep = batch_reset(self.env, key, self.num_envs)
        return CollectorState(env_state, timestep.obs, jnp.ones(self.num_envs, bool), self.initial_carry(self.num_envs))

    def step(self, params, state: CollectorState, act_key: jax.Array, env_key: jax.Array):
        """Act on `state.obs`, step every env once -> (state, Transition[B], episode sums)."""
        carry, action, extras = self.act(params, state.carry, state.obs, state.first, act_key)
        env_state, timestep = batch_step(self.env, state.env_state, to_env_action(self.space, action), env_key)
        transition = from_step(state.obs, action, timestep, state.first, extras)
        state = CollectorState(env_state, timestep.obs, timestep.done, carry)
        return state, transition, finished_episode_stats(timestep)

    def rollout(self, params, state: CollectorState, key: jax.Array, length: int):
        """`length` steps as one scan -> (state, Transition[length, B], episode sums over the rollout)."""

        def one(state, step_key):
            act_key, env_key = jax.random.split(step_key)
            state, transition, stats = self.step(params, state, act_key, env_key)
            return state, (transition, stats)

        state, (transitions, stats) = jax.lax.scan(one, state, jax.random.split(key, length))
        return state, transitions, jax.tree.map(jnp.sum, stats)


class HostCollector:
    """Steps a host gymnasium vector env (see envs/gymnasium_host.py) around a jitted acting function.

    `step` is `act` then `env_step`; a loop that computes the next action inside its own jitted update (the
    off-policy loop does, to keep one device call per env step) calls `env_step` with it directly.
    The host env is not part of any checkpoint: a resumed run starts fresh episodes.
    """

    def __init__(self, env_factory, num_envs: int, seed: int, act: ActFn,
                 initial_carry: Callable[[int], Any] = lambda n: None):
        self.vec = env_factory.vector(num_envs, seed)
        self.num_envs = num_envs
        self.initial_carry = initial_carry
        self.space = env_factory.spec.action_space
        self._act = jax.jit(lambda params, carry, obs, first, key: self._act_in_env_units(act, params, carry, obs,
                                                                                           first, key))

    def _act_in_env_units(self, act: ActFn, params, carry, obs, first, key):
        carry, action, extras = act(params, carry, obs, first, key)
        return carry, action, to_env_action(self.space, action), extras

    def reset(self) -> CollectorState:
        obs = self.vec.reset().obs
        return CollectorState(None, obs, np.ones(self.num_envs, bool), self.initial_carry(self.num_envs))

    def act(self, params, state: CollectorState, key: jax.Array):
        """-> (carry, action in agent units, action in env units, extras), all still on the device."""
        return self._act(params, state.carry, state.obs, state.first, key)

    def env_step(self, state: CollectorState, carry, action, env_action, extras: dict):
        """Step the host env with `env_action` -> (state, Transition[B] of host arrays, episode sums)."""
        timestep = self.vec.step(np.asarray(env_action))
        transition = from_step(state.obs, action, timestep, state.first, extras)
        done = np.logical_or(timestep.terminated, timestep.truncated)
        return CollectorState(None, timestep.obs, done, carry), transition, finished_episode_stats(timestep, np)

    def step(self, params, state: CollectorState, key: jax.Array):
        carry, action, env_action, extras = self.act(params, state, key)
        return self.env_step(state, carry, action, env_action, extras)

    def rollout(self, params, state: CollectorState, key: jax.Array, length: int):
        """`length` steps -> (state, Transition[length, B] on the device, episode sums), like `JaxCollector`."""
        steps, totals = [], zero_stats()
        for step_key in jax.random.split(key, length):
            state, transition, stats = self.step(params, state, step_key)
            steps.append(transition)
            totals = add_stats(totals, stats)
        stacked = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *steps)
        return state, stacked, totals

    def close(self) -> None:
        self.vec.close()
