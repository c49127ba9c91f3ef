"""The host-side driver shared by every loop: advance in compiled chunks, log, evaluate, checkpoint, resume.

A loop supplies `advance(carry) -> (carry, stats)`, which runs exactly `chunk_steps` env steps, and
`evaluate(carry) -> returns`. Chunk boundaries fall on the same env steps in every run of a config, so a run
resumed from a checkpoint replays the same compiled computation as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
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
    last_eval: np.ndarray | None


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
    """Drop log records written after the checkpoint we resume from, so the resumed log has no duplicates."""
    path = Path(run_dir) / "metrics.jsonl"
    if path.exists():
        kept = [r for r in read_metrics(run_dir) if r["step"] <= last_step]
        path.write_text("".join(json.dumps(r) + "\n" for r in kept))


def summarize_chunk(stats: dict) -> dict:
    """Turn summed episode statistics of a chunk into means; NaN when no episode ended."""
    stats = {k: float(np.asarray(v)) for k, v in stats.items()}
    episodes = stats.pop("episodes", 0.0)
    return_sum, length_sum = stats.pop("return_sum", 0.0), stats.pop("length_sum", 0.0)
    stats["episode_return"] = return_sum / episodes if episodes else math.nan
    stats["episode_length"] = length_sum / episodes if episodes else math.nan
    return stats


def drive(
    carry: Any,
    start_step: int,
    advance: Callable[[Any], tuple[Any, dict]],
    evaluate: Callable[[Any], np.ndarray],
    schedule: Schedule,
    logger: RunLogger,
    checkpointer: Checkpointer,
    host_state: Callable[[], dict] = dict,
) -> DriveResult:
    step = start_step
    last_eval = None
    with _StopRequest() as stop:
        while step < schedule.total_steps:
            carry, stats = advance(carry)
            step += schedule.chunk_steps
            record = summarize_chunk(jax.device_get(stats))
            if schedule.is_multiple(step, schedule.eval_every) or step >= schedule.total_steps:
                last_eval = np.asarray(evaluate(carry))
                record["eval_return"] = float(last_eval.mean())
            logger.log(step, record)
            pausing = stop.requested or (schedule.stop_after is not None and step >= schedule.stop_after)
            finished = step >= schedule.total_steps
            if finished or pausing or schedule.is_multiple(step, schedule.checkpoint_every):
                checkpointer.save(step, carry, {"step": step, **host_state()})
            if pausing and not finished:
                return DriveResult(carry, step, False, last_eval)
    return DriveResult(carry, step, True, last_eval)
