"""Collecting experience: JAX envs vmapped under jit/scan, host gymnasium vector envs with a jitted policy.

Agents call these; they never write their own env loops. A policy here is `policy(obs[B, ...], key) -> action`
in the env's own action units.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from envs.protocol import JaxEnv, TimeStep

Policy = Callable[[jax.Array, jax.Array], jax.Array]


def batch_reset(env: JaxEnv, key: jax.Array, num_envs: int) -> tuple[Any, TimeStep]:
    return jax.vmap(env.reset)(jax.random.split(key, num_envs))


def batch_step(env: JaxEnv, state: Any, action: jax.Array, key: jax.Array) -> tuple[Any, TimeStep]:
    num_envs = jax.tree.leaves(action)[0].shape[0]
    return jax.vmap(env.step)(state, action, jax.random.split(key, num_envs))


def finished_episode_stats(timestep: TimeStep) -> dict[str, jax.Array]:
    """Sums over the episodes that ended at this step (for averaging over a chunk of steps)."""
    done = timestep.done.astype(jnp.float32)
    return {
        "episodes": done.sum(),
        "return_sum": (done * timestep.info["episode_return"]).sum(),
        "length_sum": (done * timestep.info["episode_length"]).sum(),
    }


def evaluate_jax(env: JaxEnv, policy: Policy, key: jax.Array, episodes: int) -> jax.Array:
    """Returns of `episodes` complete episodes run side by side; jit-able. Result `[episodes]`."""
    memoryless = lambda memory, obs, first, act_key: (memory, policy(obs, act_key))
    return evaluate_jax_with_memory(env, memoryless, None, key, episodes)


def evaluate_jax_with_memory(env: JaxEnv, policy, memory: Any, key: jax.Array, episodes: int) -> jax.Array:
    """`evaluate_jax` for a policy with a carry: `policy(memory, obs[B, ...], first[B], key) -> (memory, action)`.

    `memory` is the carry of `episodes` fresh episodes; `first` is True on each episode's first step.
    """
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
    """Returns of `episodes` episodes of a host gymnasium env, one vector slot each, run until all finish."""
    vec = env_factory.vector(episodes, seed)
    try:
        timestep = vec.reset()
        returns = np.zeros(episodes)
        running = np.ones(episodes, dtype=bool)
        while running.any():
            key, act_key = jax.random.split(key)
            action = np.asarray(policy(jnp.asarray(timestep.obs), act_key))
            timestep = vec.step(action)
            returns += running * np.asarray(timestep.reward)
            running &= ~np.asarray(timestep.done)
        return returns
    finally:
        vec.close()
