"""Episode statistics, counted in one place for every collector: sums over the episodes that ended at a step.

The sums (`episodes`, `return_sum`, `length_sum`) add up over a chunk of steps; the run driver divides them.
The same function serves JAX timesteps (inside jit) and host ones (numpy), through the array module it is given.
"""

from __future__ import annotations

import jax.numpy as jnp

EPISODE_KEYS = ("episodes", "return_sum", "length_sum")


def finished_episode_stats(timestep, xp=jnp) -> dict:
    """Sums over the episodes that ended at this step; `xp` is `jnp` inside jit, `np` on the host."""
    done = xp.logical_or(timestep.terminated, timestep.truncated).astype(xp.float32)
    return {
        "episodes": done.sum(),
        "return_sum": (done * xp.asarray(timestep.info["episode_return"])).sum(),
        "length_sum": (done * xp.asarray(timestep.info["episode_length"])).sum(),
    }


def zero_stats() -> dict:
    return {name: 0.0 for name in EPISODE_KEYS}


def add_stats(totals: dict, step_stats: dict) -> dict:
    """Host-side running sums of `finished_episode_stats(..., xp=np)` over a chunk."""
    return {name: totals[name] + float(step_stats[name]) for name in EPISODE_KEYS}

