"""The update loop every fitter shares: draw a batch, one jitted model update, log, checkpoint; resumable.

Update i draws its batch and its update key from `fold_in(PRNGKey(seed), i)`, so a run resumed from the
checkpoint of update k draws exactly the batches the uninterrupted run would have. Metrics are logged every
`log_every` updates to `metrics.jsonl` (lines past the restored checkpoint are dropped first, so a resumed run
does not log an update twice); the state is checkpointed every `checkpoint_every` updates and at the end.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from worldmodels.fitting import FitRun


def run_updates(model, state: Any, sample: Callable[[jax.Array], Any], run: FitRun,
                label: str) -> tuple[Any, dict]:
    """Train `state` up to `run.updates` updates of `model.update(state, sample(key), key)`; returns (state,
    the last logged metrics). `state.updates` counts the updates done (so a checkpoint knows where it was)."""
    from core.checkpoint import Checkpointer

    with Checkpointer(run.run_dir / "checkpoints") as checkpoints:
        if checkpoints.latest_step() is not None:
            state, _ = checkpoints.restore(state)
        done = int(state.updates)
        log_path = run.run_dir / "metrics.jsonl"
        last = _truncated_log(log_path, done)
        base = jax.random.PRNGKey(run.seed)
        tick, since = time.perf_counter(), done
        with _progress(run.progress) as progress:
            task = progress.add_task(label, total=run.updates, completed=done)
            for i in range(done, run.updates):
                batch_key, update_key = jax.random.split(jax.random.fold_in(base, i))
                state, metrics = model.update(state, sample(batch_key), update_key)
                if (i + 1) % run.log_every == 0 or i + 1 == run.updates:
                    rate = (i + 1 - since) / (time.perf_counter() - tick)
                    last = {"update": i + 1, **_floats(metrics), "updates_per_second": rate}
                    with log_path.open("a") as log:
                        log.write(json.dumps(last) + "\n")
                    tick, since = time.perf_counter(), i + 1
                if (i + 1) % run.checkpoint_every == 0 or i + 1 == run.updates:
                    checkpoints.save(i + 1, state)
                progress.update(task, completed=i + 1)
    return state, last


def _floats(metrics: dict) -> dict:
    return {k: float(v) for k, v in jax.device_get(metrics).items() if np.ndim(v) == 0}


def _truncated_log(path: Path, done: int) -> dict:
    """Keep the log lines of updates <= `done` (what the restored state has seen); returns the last of them."""
    if not path.exists():
        return {}
    kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["update"] <= done]
    path.write_text("".join(line + "\n" for line in kept))
    return json.loads(kept[-1]) if kept else {}


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, disable=not enabled or not console.is_terminal)
