"""Evaluation episodes: returns of complete episodes, on JAX envs (one scan, jit-able) or host vector envs.

A policy here is `policy(memory, obs[B, ...], first[B], key) -> (memory, action)` in the env's own action units;
`memory` is the policy's carry (None when it has none) and `first` is True on each episode's first step. Each
of the `episodes` env slots runs exactly one episode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from core.rollout.vector import batch_reset, batch_step
from envs.protocol import JaxEnv

Policy = Callable[[jax.Array, jax.Array], jax.Array]


def evaluate_jax(env: JaxEnv, policy: Policy, key: jax.Array, episodes: int) -> jax.Array:
    """Returns `[episodes]` of a memoryless `policy(obs, key) -> action`; jit-able."""
    memoryless = lambda memory, obs, first, act_key: (memory, policy(obs, act_key))
    return evaluate_jax_with_memory(env, memoryless, None, key, episodes)


def evaluate_jax_with_memory(env: JaxEnv, policy, memory: Any, key: jax.Array, episodes: int) -> jax.Array:
    """`evaluate_jax` for a policy with a carry; `memory` is the carry of `episodes` fresh episodes."""
    reset_key, run_key = jax.random.split(key)
    state, timestep = batch_reset(env, reset_key, episodes)

    def one_step(carry, step_key):
        state, obs, first, memory, returns, running = carry
        act_key, env_key = jax.random.split(step_key)
        memory, action = policy(memory, obs, first, act_key)
        state, timestep = batch_step(env, state, action, env_key)
        returns = returns + running * timestep.reward
        running = running * (1.0 - timestep.done.astype(jnp.float32))
        return (state, timestep.obs, timestep.done, memory, returns, running), None

    init = (state, timestep.obs, jnp.ones(episodes, bool), memory, jnp.zeros(episodes), jnp.ones(episodes))
    keys = jax.random.split(run_key, env.max_episode_steps)
    (*_, returns, _), _ = jax.lax.scan(one_step, init, keys)
    return returns


def evaluate_host(env_factory, policy: Policy, key: jax.Array, episodes: int, seed: int) -> np.ndarray:
    """Returns of `episodes` episodes of a host gymnasium env with a memoryless `policy(obs, key) -> action`."""
    memoryless = lambda memory, obs, first, act_key: (memory, policy(obs, act_key))
    return evaluate_host_with_memory(env_factory, memoryless, None, key, episodes, seed)


def evaluate_host_with_memory(env_factory, policy, memory: Any, key: jax.Array, episodes: int,
                              seed: int) -> np.ndarray:
    """`evaluate_host` for a policy with a carry, one vector slot per episode, run until all finish."""
    vec = env_factory.vector(episodes, seed)
    try:
        timestep = vec.reset()
        first = np.ones(episodes, bool)
        returns = np.zeros(episodes)
        running = np.ones(episodes, dtype=bool)
        while running.any():
            key, act_key = jax.random.split(key)
            memory, action = policy(memory, jnp.asarray(timestep.obs), jnp.asarray(first), act_key)
            timestep = vec.step(np.asarray(action))
            returns += running * np.asarray(timestep.reward)
            running &= ~np.asarray(timestep.done)
            first = np.zeros(episodes, bool)  # each slot runs one episode; later ones are never counted
        return returns
    finally:
        vec.close()


def evaluate(env, policy, memory: Any, key: jax.Array, episodes: int, seed: int) -> np.ndarray:
    """Either kind of env: JAX envs run as one scan (jit this where it is called often), host envs step."""
    if isinstance(env, JaxEnv):
        return np.asarray(evaluate_jax_with_memory(env, policy, memory, key, episodes))
    return evaluate_host_with_memory(env, policy, memory, key, episodes, seed)
