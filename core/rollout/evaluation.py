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


# --- whole trajectories -------------------------------------------------------------------------------------
# A policy here is `policy(params, memory, obs[B, ...], first[B], key) -> (memory, action in env units)`, with its
# learner state passed as `params` (not closed over), so that one compiled rollout serves every evaluation.


def trajectories_jax(env: JaxEnv, policy, params: Any, memory: Any, key: jax.Array,
                     episodes: int) -> tuple[jax.Array, jax.Array]:
    """One episode per slot, `env.max_episode_steps` steps as one scan -> (obs `[T + 1, B, ...]`, alive
    `[T + 1, B]`): row t is the observation before step t, the last row the final observation; `alive` is False
    on the rows after a slot's episode ended (a termination before the time limit). Jit-able."""
    reset_key, run_key = jax.random.split(key)
    state, timestep = batch_reset(env, reset_key, episodes)

    def one_step(carry, step_key):
        state, obs, first, memory, running = carry
        act_key, env_key = jax.random.split(step_key)
        memory, action = policy(params, memory, obs, first, act_key)
        state, timestep = batch_step(env, state, action, env_key)
        reached = timestep.info["final_obs"]
        next_running = running & ~timestep.done
        return (state, timestep.obs, timestep.done, memory, next_running), (obs, running, reached)

    init = (state, timestep.obs, jnp.ones(episodes, bool), memory, jnp.ones(episodes, bool))
    final, (obs, alive, reached) = jax.lax.scan(one_step, init, jax.random.split(run_key, env.max_episode_steps))
    # The final row: where each slot's episode ended, the observation its last step reached.
    last = jnp.argmax(jnp.concatenate([~alive[1:], jnp.ones((1, episodes), bool)]), axis=0)  # [B]
    take = jax.vmap(lambda rows, t: rows[t], in_axes=(1, 0))
    final_obs = take(reached, last)
    return jnp.concatenate([obs, final_obs[None]]), jnp.concatenate([alive, jnp.ones((1, episodes), bool)])


def trajectories_host(env_factory, policy, params: Any, memory: Any, key: jax.Array, episodes: int,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`trajectories_jax` on a host gymnasium env, one vector slot per episode, for the env's time limit."""
    vec = env_factory.vector(episodes, seed)
    try:
        timestep = vec.reset()
        obs, first = np.asarray(timestep.obs), np.ones(episodes, bool)
        running = np.ones(episodes, bool)
        rows, alive, final = [], [], obs.copy()
        for _ in range(env_factory.spec.max_episode_steps):
            key, act_key = jax.random.split(key)
            memory, action = policy(params, memory, jnp.asarray(obs), jnp.asarray(first), act_key)
            timestep = vec.step(np.asarray(action))
            rows.append(obs)
            alive.append(running.copy())
            reached = np.asarray(timestep.info["final_obs"])
            final[running] = reached[running]
            running &= ~np.asarray(timestep.done)
            obs, first = np.asarray(timestep.obs), np.zeros(episodes, bool)
        return np.stack([*rows, final]), np.stack([*alive, np.ones(episodes, bool)])
    finally:
        vec.close()


_trajectories_jit = jax.jit(trajectories_jax, static_argnames=("env", "policy", "episodes"))


def trajectories(env, policy, params: Any, memory: Any, key: jax.Array, episodes: int,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Either kind of env -> host arrays (obs `[T + 1, B, ...]`, alive `[T + 1, B]`); on JAX envs one compiled
    scan, reused while `env` and `policy` (hashable: an env dataclass, a bound method) stay the same."""
    if isinstance(env, JaxEnv):
        obs, alive = _trajectories_jit(env, policy, params, memory, key, episodes)
        return np.asarray(obs), np.asarray(alive)
    return trajectories_host(env, policy, params, memory, key, episodes, seed)
