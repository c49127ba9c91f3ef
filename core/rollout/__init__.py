"""Collecting experience and evaluating policies; agents and loops never write their own env loops.

- `collector`: the one collector interface (`JaxCollector`, `HostCollector`) and its acting-function type.
- `episodes`: episode statistics, counted once.
- `evaluation`: returns of whole evaluation episodes.
- `vector`: vmapped reset/step of a batch of JAX envs.
"""

from core.rollout.collector import ActFn, CollectorState, HostCollector, JaxCollector, memoryless
from core.rollout.episodes import add_stats, finished_episode_stats, zero_stats
from core.rollout.evaluation import (
    evaluate,
    evaluate_host,
    evaluate_host_with_memory,
    evaluate_jax,
    evaluate_jax_with_memory,
)
from core.rollout.vector import batch_reset, batch_step

__all__ = [
    "ActFn", "CollectorState", "HostCollector", "JaxCollector", "add_stats", "batch_reset", "batch_step",
    "evaluate", "evaluate_host", "evaluate_host_with_memory", "evaluate_jax", "evaluate_jax_with_memory",
    "finished_episode_stats", "memoryless", "zero_stats",
]
