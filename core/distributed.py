"""Data parallelism over devices: a 1-D `jax.sharding` mesh over the env axis, and multi-host start-up.

The JAX-env loops put the batched env state (and whatever else has an env axis) on `NamedSharding(mesh, P("env"))`
and everything else (params, optimiser state, replay) replicated; `jit` then partitions the vmapped env steps and
inserts the collectives the learner needs. The same command runs on one CPU, one GPU or several devices; on one
device all of this is a no-op. Test it on the CPU with `XLA_FLAGS=--xla_force_host_platform_device_count=2`.

`initialize_from_environment()` calls `jax.distributed.initialize` when the usual multi-host variables are set
(`JAX_COORDINATOR_ADDRESS` + `JAX_NUM_PROCESSES` + `JAX_PROCESS_ID`, or a multi-task SLURM / Open MPI job).
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

ENV_AXIS = "env"
_initialized = False


def initialize_from_environment() -> bool:
    """Start `jax.distributed` if this process is one of several; returns True when it did (idempotent)."""
    global _initialized
    if _initialized:
        return True
    env = os.environ
    if "JAX_COORDINATOR_ADDRESS" in env:
        jax.distributed.initialize(
            coordinator_address=env["JAX_COORDINATOR_ADDRESS"],
            num_processes=int(env.get("JAX_NUM_PROCESSES", "1")),
            process_id=int(env.get("JAX_PROCESS_ID", "0")),
        )
    elif int(env.get("SLURM_NTASKS", "1")) > 1 or int(env.get("OMPI_COMM_WORLD_SIZE", "1")) > 1:
        jax.distributed.initialize()  # JAX's cluster auto-detection reads SLURM / Open MPI variables
    else:
        return False
    _initialized = True
    return True


@functools.cache
def env_mesh() -> Mesh:
    """A 1-D mesh over every visible device (all hosts' devices after `initialize_from_environment`)."""
    return Mesh(np.asarray(jax.devices()), (ENV_AXIS,))


def device_count() -> int:
    return env_mesh().size


def replicated() -> NamedSharding:
    return NamedSharding(env_mesh(), PartitionSpec())


@functools.cache
def env_sharding(num_envs: int) -> NamedSharding:
    """Leading axis split over the devices; replicated (with a warning) when num_envs does not divide evenly."""
    devices = device_count()
    if num_envs % devices:
        warnings.warn(f"num_envs={num_envs} is not a multiple of the {devices} visible devices; the env batch "
                      "is replicated instead of sharded", stacklevel=2)
        return replicated()
    return NamedSharding(env_mesh(), PartitionSpec(ENV_AXIS))


def shard_envs(tree: Any, num_envs: int) -> Any:
    """Place a pytree whose leaves all have a leading env axis of size `num_envs` across the devices."""
    return jax.device_put(tree, env_sharding(num_envs))


def replicate(tree: Any) -> Any:
    return jax.device_put(tree, replicated())


def own_buffers(tree: Any) -> Any:
    """`tree` with every array leaf on a device buffer of its own, so the whole tree can be donated.

    Donating a buffer that two leaves share fails at the call ("donate the same buffer twice"), and a carry
    built eagerly shares them easily: an env state may hold one array in two fields, an LSTM start h and c
    from one zeros, a one-layer stack broadcast to its own shape, and placement keeps buffers as they are.
    Only the second and later holders of a buffer are copied, so a carry without sharing costs no memory.
    """
    seen: set[int] = set()

    def own(leaf):
        if not isinstance(leaf, jax.Array):
            return leaf
        if _buffer_pointers(leaf) & seen:
            leaf = jax.device_put(leaf, leaf.sharding, may_alias=False)
        seen.update(_buffer_pointers(leaf))
        return leaf

    return jax.tree.map(own, tree)


def _buffer_pointers(array: jax.Array) -> set[int]:
    return {shard.data.unsafe_buffer_pointer() for shard in array.addressable_shards}


def constrain_envs(tree: Any, num_envs: int) -> Any:
    """Inside `jit`: keep the env axis of these leaves sharded (so outputs come back laid out as inputs)."""
    return jax.lax.with_sharding_constraint(tree, env_sharding(num_envs))
