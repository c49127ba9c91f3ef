"""A batch of JAX envs stepped side by side: `vmap` over the env axis, one key per env."""

from __future__ import annotations

from typing import Any

import jax

from envs.protocol import JaxEnv, TimeStep


def batch_reset(env: JaxEnv, key: jax.Array, num_envs: int) -> tuple[Any, TimeStep]:
    return jax.vmap(env.reset)(jax.random.split(key, num_envs))


def batch_step(env: JaxEnv, state: Any, action: jax.Array, key: jax.Array) -> tuple[Any, TimeStep]:
    num_envs = jax.tree.leaves(action)[0].shape[0]
    return jax.vmap(env.step)(state, action, jax.random.split(key, num_envs))
