"""One training run, end to end: run dir, config, resume, the loop driver, final evaluation and plot.

Knows nothing about particular agents: it gets a built agent, an env and a loop object (see core/loops).

A start that fails (bad config, a crash in the first chunk) leaves nothing behind: the run dir is only read
until the learner is built and restored, and a fresh run dir is removed again if no chunk of it completed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np

from core.checkpoint import Checkpointer
from core.config import ConfigError, RunConfig, check_same_run, to_json
from core.files import write_json_atomically
from core.logging import RunLogger, read_metrics
from core.loops.driver import Schedule, drive, trim_metrics
from core.plotting import plot_learning_curves

# Exit status of a run that paused (Ctrl-C, SIGTERM, --stop-after) with a checkpoint, to be resumed: not 0, so
# `train && evaluate` does not evaluate a half-trained agent; 75 is EX_TEMPFAIL ("try again later").
PAUSED_EXIT_STATUS = 75
EVALUATION_PICTURE = "evaluation.png"  # an agent's picture of its final evaluation rollouts (METRA's skills)


@dataclass(frozen=True)
class RunOutcome:
    summary: dict  # the final evaluation; empty when paused
    step: int
    pause_reason: str | None = None  # why the run paused ("interrupted", "--stop-after N"); None when finished

    @property
    def paused(self) -> bool:
        return self.pause_reason is not None


def load_config_json(path: Path) -> dict:
    """A run's `config.json`, with errors that name the file and the problem."""
    try:
        saved = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: invalid JSON at line {error.lineno}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file") from None
    if not isinstance(saved, dict) or not all(isinstance(saved.get(k), dict) for k in ("run", "agent")):
        raise ConfigError(f"{path}: expected an object with 'run' and 'agent' objects, got {_describe(saved)}")
    return saved


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return f"an object with keys {sorted(value)}"
    return f"a JSON {type(value).__name__}"


def saved_run_config(run_dir: Path, config_json: dict) -> dict | None:
    """The saved config when `run_dir` holds this run (None when it is new or an empty folder). Reads only."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--run-dir {run_dir} is a file, not a run directory")
    config_path = run_dir / "config.json"
    if config_path.exists():
        saved = load_config_json(config_path)
        check_same_run(saved, config_json)
        return saved
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise ConfigError(f"--run-dir {run_dir} is a folder that holds no run (no config.json); "
                          f"give a new or empty folder")
    return None


def short_chunk_of(run_dir: Path) -> int | None:
    """The chunk of the run saved in `run_dir` when its total was its one chunk (shorter than its --log-every
    asked for), so that extending it keeps that chunk; None for a new run dir or any other run."""
    config_path = Path(run_dir) / "config.json"
    if not config_path.is_file():
        return None
    saved = load_config_json(config_path)["run"]
    return saved.get("log_every") if saved.get("log_every") == saved.get("total_steps") else None


def eval_summary(returns: np.ndarray) -> dict:
    return {"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)), "episodes": len(returns)}


def schedule_for(run: RunConfig) -> Schedule:
    return Schedule(
        total_steps=run.total_steps,
        chunk_steps=run.log_every,
        eval_every=run.eval_every,
        checkpoint_every=run.checkpoint_every,
        eval_episodes=run.eval_episodes,
        stop_after=run.stop_after,
    )


def train(run: RunConfig, agent_config: Any, loop, run_dir: Path,
          metrics: Callable[[np.ndarray], dict] = eval_summary) -> RunOutcome:
    """Train (or resume, or extend) the run in `run_dir`; `metrics` turns evaluation returns into the metrics
    that are logged and written to `eval.json` (default: mean, std and count of the returns)."""
    run_dir = Path(run_dir)
    config_json = to_json(run, agent_config)
    saved = saved_run_config(run_dir, config_json)
    carry = loop.init_carry(jax.random.PRNGKey(run.seed))
    if saved is not None:
        with Checkpointer(run_dir / "checkpoints") as checkpointer:
            return _resume(run, loop, run_dir, saved, config_json, carry, checkpointer, metrics)
    existed_empty = run_dir.is_dir()
    _write_config(run_dir, None, config_json)
    try:
        with Checkpointer(run_dir / "checkpoints") as checkpointer:
            return _drive(run, loop, run_dir, carry, 0, checkpointer, metrics, resuming=False)
    except BaseException:
        if not read_metrics(run_dir):  # no chunk completed: a failed start, which leaves nothing behind
            _discard_new_run(run_dir, existed_empty)
        raise


def _resume(run: RunConfig, loop, run_dir: Path, saved: dict, config_json: dict, carry,
            checkpointer: Checkpointer, metrics: Callable[[np.ndarray], dict]) -> RunOutcome:
    start = 0
    if checkpointer.latest_step() is not None:
        carry, extra = checkpointer.restore(carry)
        start = int(extra["step"])
    if start > run.total_steps:
        raise ConfigError(f"the run in {run_dir} is at step {start}, past --total-steps {run.total_steps}")
    if start == run.total_steps and (run_dir / "eval.json").is_file():
        print(f"{run_dir} already finished at step {start}; give a larger --total-steps to extend it")
        return RunOutcome(json.loads((run_dir / "eval.json").read_text()), start)
    _write_config(run_dir, saved, config_json)
    trim_metrics(run_dir, start)
    print(f"resuming {run_dir} from step {start}")
    return _drive(run, loop, run_dir, carry, start, checkpointer, metrics, resuming=True)


def _drive(run: RunConfig, loop, run_dir: Path, carry, start: int, checkpointer: Checkpointer,
           metrics: Callable[[np.ndarray], dict], resuming: bool) -> RunOutcome:
    """Run the driver from `start`, then the final evaluation, `eval.json` and the learning curve."""
    evaluate = lambda c: metrics(loop.evaluate(c, run.eval_episodes))
    host_state = lambda: {"phase": loop.phase}  # the phase of the chunk just done, for a reader of the checkpoint
    with RunLogger(run_dir, run.total_steps, start, show_progress=run.progress, resuming=resuming) as logger:
        result = drive(carry, start, loop.advance, evaluate, schedule_for(run), logger, checkpointer, host_state)
    if not result.finished:
        return RunOutcome({}, result.step, result.pause_reason)
    final = result.last_eval if result.last_eval is not None else evaluate(result.carry)
    summary = {**final, "step": result.step}
    write_json_atomically(run_dir / "eval.json", summary)
    loop.draw_evaluation(run_dir / EVALUATION_PICTURE)
    plot_learning_curves({run.agent: [run_dir]}, run_dir / "learning_curve.png")
    return RunOutcome(summary, result.step)


def _write_config(run_dir: Path, saved: dict | None, config_json: dict) -> None:
    """A new run's config; for a resumed run only a new total (an extension), the one change it may take."""
    if saved is None:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomically(run_dir / "config.json", config_json)
        return
    old_total, new_total = saved["run"].get("total_steps"), config_json["run"]["total_steps"]
    if old_total != new_total:
        print(f"total steps of {run_dir}: {old_total} -> {new_total}")
        write_json_atomically(run_dir / "config.json", {**saved, "run": {**saved["run"], "total_steps": new_total}})


def _discard_new_run(run_dir: Path, keep_folder: bool) -> None:
    """Remove what this invocation wrote into a new run dir that failed before completing a chunk."""
    if not keep_folder:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    for child in run_dir.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
