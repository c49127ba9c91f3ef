"""The host-side driver shared by every loop: advance in compiled chunks, log, evaluate, checkpoint, resume.

A loop supplies `advance(carry) -> (carry, stats)`, which runs exactly `chunk_steps` steps (env steps, or
gradient steps in a pretrain phase), and `evaluate(carry) -> metrics` (a dict with `mean_return`; its other
numbers are logged as `eval_<name>`). Chunk boundaries fall on the same env steps in every run of a config, so a run
resumed from a checkpoint replays the same compiled computation as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from core.checkpoint import Checkpointer
from core.logging import RunLogger, read_metrics


@dataclass
class Schedule:
    total_steps: int
    chunk_steps: int
    eval_every: int
    checkpoint_every: int
    eval_episodes: int
    stop_after: int | None = None  # stop this invocation (with a checkpoint) once this many steps are done

    def is_multiple(self, step: int, every: int) -> bool:
        return every > 0 and step % every < self.chunk_steps and step > 0


@dataclass
class DriveResult:
    carry: Any
    step: int
    finished: bool
    last_eval: dict | None  # the metrics of the last evaluation
    pause_reason: str | None = None


class _StopRequest:
    """Turns SIGINT/SIGTERM into a flag so the driver checkpoints at the next chunk boundary and exits."""

    def __init__(self):
        self.requested = False
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:  # a second signal means "now"
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def trim_metrics(run_dir: Path, last_step: int) -> None:
    """Drop log records written after the checkpoint we resume from (all of them when there is none yet), so
    the resumed log holds each step once, wherever the previous invocation was killed."""
    path = Path(run_dir) / "metrics.jsonl"
    if path.exists():
        kept = [r for r in read_metrics(run_dir) if r["step"] <= last_step]
        partial = path.with_name(f".{path.name}.trimmed")
        partial.write_text("".join(json.dumps(r) + "\n" for r in kept))
        os.replace(partial, path)  # a kill during the trim leaves the old log, never half of one


EPISODE_SUMS = ("episodes", "return_sum", "length_sum")


def summarize_chunk(stats: dict) -> dict:
    """Turn a chunk's summed episode statistics into means, and keep only metrics that exist.

    No episode ended: no episode_return/length. `updated` False (the learner has not updated yet, e.g. SAC
    before learning_starts): no learner metrics, since zeros there would read as real losses.
    """
    stats = {k: float(np.asarray(v)) for k, v in stats.items()}
    if not stats.pop("updated", True):
        stats = {k: v for k, v in stats.items() if k in EPISODE_SUMS}
    episodes = stats.pop("episodes", 0.0)
    return_sum, length_sum = stats.pop("return_sum", 0.0), stats.pop("length_sum", 0.0)
    if episodes:
        stats["episode_return"] = return_sum / episodes
        stats["episode_length"] = length_sum / episodes
    return stats


class NonFiniteError(ValueError):
    """A loss or parameter became NaN or infinite; the run stops before checkpointing it."""


def first_non_finite(record: dict, learner: Any) -> str | None:
    """The name of the first non-finite metric in `record` or leaf of the learner state, or None."""
    for name, value in record.items():
        if not math.isfinite(value):
            return f"metric {name} = {value}"
    finite = jax.device_get(_finite_leaves(learner))
    for path, ok in jax.tree_util.tree_flatten_with_path(finite)[0]:
        if not ok:
            return f"parameter {jax.tree_util.keystr(path)}"
    return None


@jax.jit
def _finite_leaves(tree: Any) -> Any:
    """One flag per leaf, in one compiled call: this runs after every chunk, where a reduction dispatched per
    leaf (dozens for a learner with its optimiser states) would cost more than a short chunk."""
    def finite(leaf):
        return jnp.isfinite(leaf).all() if jnp.issubdtype(leaf.dtype, jnp.inexact) else jnp.asarray(True)

    return jax.tree.map(finite, tree)


def evaluation_record(metrics: dict) -> dict:
    """The log fields of an evaluation: `eval_return` (the mean), and `eval_<name>` for the agent's metrics."""
    record = {"eval_return": float(metrics["mean_return"])}
    for name, value in metrics.items():
        if name not in ("mean_return", "std_return", "episodes") and isinstance(value, int | float):
            record[f"eval_{name}"] = float(value)
    return record


def drive(
    carry: Any,
    start_step: int,
    advance: Callable[[Any], tuple[Any, dict]],
    evaluate: Callable[[Any], dict],
    schedule: Schedule,
    logger: RunLogger,
    checkpointer: Checkpointer,
    host_state: Callable[[], dict] = dict,
    learner: Callable[[Any], Any] = lambda carry: carry.agent,
) -> DriveResult:
    """Advance chunk by chunk from `start_step` to the total, pausing early on a signal or at `stop_after`.

    A chunk whose metrics or learner state are not finite raises NonFiniteError before anything of it is
    logged or saved, so the last checkpoint stays the last good one.
    """
    step = start_step
    last_eval = None
    with _StopRequest() as stop:
        while step < schedule.total_steps:
            carry, stats = advance(carry)
            step += schedule.chunk_steps
            record = summarize_chunk(jax.device_get(stats))
            if (problem := first_non_finite(record, learner(carry))) is not None:
                kept = checkpointer.latest_step()
                kept = f"the last checkpoint (step {kept}) is kept" if kept is not None else "no checkpoint yet"
                raise NonFiniteError(f"non-finite {problem} at step {step}; stopped, {kept}")
            if schedule.is_multiple(step, schedule.eval_every) or step >= schedule.total_steps:
                last_eval = evaluate(carry)
                record.update(evaluation_record(last_eval))
            logger.log(step, record)
            pausing = stop.requested or (schedule.stop_after is not None and step >= schedule.stop_after)
            finished = step >= schedule.total_steps
            if finished or pausing or schedule.is_multiple(step, schedule.checkpoint_every):
                checkpointer.save(step, carry, {"step": step, **host_state()})
            if pausing and not finished:
                reason = "interrupted" if stop.requested else f"--stop-after {schedule.stop_after}"
                return DriveResult(carry, step, False, last_eval, reason)
    return DriveResult(carry, step, True, last_eval)
