"""Run logging: tensorboardX scalars, one JSON line per log event, and a progress bar.

Metrics arrive from the host between compiled chunks of training (never from inside `jit`), so a log call is a
plain Python dict of floats.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from tensorboardX import SummaryWriter


def _to_float(value) -> float:
    return float(np.asarray(value))


class RunLogger:
    """Writes `metrics.jsonl` and tensorboard events in `run_dir`, and drives a progress bar."""

    def __init__(self, run_dir: Path, total_steps: int, start_step: int = 0, show_progress: bool = True,
                 resuming: bool = False):
        self.run_dir = Path(run_dir)
        # A resumed run purges the events an interrupted invocation wrote after its checkpoint, so TensorBoard's
        # curves, like metrics.jsonl, hold each step once. TensorBoard drops events at and after the purge step.
        purge_step = start_step + 1 if resuming else None
        self.writer = SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=purge_step)
        self.jsonl = open(self.run_dir / "metrics.jsonl", "a", buffering=1)
        self.total_steps = total_steps
        self.recent_return = math.nan
        self._last_time = time.perf_counter()
        self._last_step = start_step
        self.progress = None
        if show_progress:
            self.progress = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:>8} steps/s  return {task.fields[ret]}"),
                TimeRemainingColumn(),
                transient=False,
                disable=not sys.stderr.isatty() and not sys.stdout.isatty(),
            )
            self.task = self.progress.add_task("train", total=total_steps, completed=start_step, rate="-", ret="-")
            self.progress.start()

    def log(self, step: int, metrics: dict) -> dict:
        """Record `metrics` at env step `step`; adds `steps_per_second` since the previous call."""
        now = time.perf_counter()
        elapsed = max(now - self._last_time, 1e-9)
        record = {key: _to_float(value) for key, value in metrics.items()}
        if step > self._last_step:
            record["steps_per_second"] = (step - self._last_step) / elapsed
        self._last_time, self._last_step = now, step
        if math.isfinite(record.get("episode_return", math.nan)):
            self.recent_return = record["episode_return"]
        for key, value in record.items():
            if math.isfinite(value):
                self.writer.add_scalar(key, value, step)
        self.jsonl.write(json.dumps({"step": int(step), "time": time.time(), **record}) + "\n")
        self.writer.flush()  # a killed run keeps its events up to the last chunk
        self._advance(step, record)
        return record

    def _advance(self, step: int, record: dict) -> None:
        if self.progress is None:
            return
        rate = record.get("steps_per_second")
        self.progress.update(
            self.task,
            completed=step,
            rate=f"{rate:.0f}" if rate else "-",
            ret=f"{self.recent_return:.1f}" if math.isfinite(self.recent_return) else "-",
        )

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        self.writer.flush()
        self.writer.close()
        self.jsonl.close()

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_metrics(run_dir: Path) -> list[dict]:
    """All records of a run's `metrics.jsonl`, in order; a torn last line (killed run) is skipped."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
