"""One training run, end to end: run dir, config, resume, the loop driver, final evaluation and plot.

Knows nothing about particular agents: it gets a built agent, an env and a loop object (see core/loops).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

from core.checkpoint import Checkpointer
from core.config import RunConfig, check_same_run, to_json
from core.files import write_json_atomically
from core.logging import RunLogger
from core.loops.driver import Schedule, drive, trim_metrics
from core.plotting import plot_learning_curves


def prepare_run_dir(run_dir: Path, config_json: dict) -> bool:
    """Create the run dir with `config.json`, or check it belongs to this run. Returns True when resuming."""
    config_path = run_dir / "config.json"
    if config_path.exists():
        check_same_run(json.loads(config_path.read_text()), config_json)
        return True
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomically(config_path, config_json)
    return False


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


def train(run: RunConfig, agent_config: Any, loop, run_dir: Path) -> dict:
    """Train (or resume) into `run_dir`. Returns the final evaluation summary, or `{}` when paused early."""
    run_dir = Path(run_dir)
    config_json = to_json(run, agent_config)
    resuming = prepare_run_dir(run_dir, config_json)
    checkpointer = Checkpointer(run_dir / "checkpoints")
    carry = loop.init_carry(jax.random.PRNGKey(run.seed))
    start = 0
    if resuming and checkpointer.latest_step() is not None:
        carry, extra = checkpointer.restore(carry)
        start = int(extra["step"])
        trim_metrics(run_dir, start)
        print(f"resuming {run_dir} from step {start}")
    logger = RunLogger(run_dir, run.total_steps, start, show_progress=run.progress)
    schedule = schedule_for(run)
    try:
        evaluate = lambda c: loop.evaluate(c, run.eval_episodes)
        result = drive(carry, start, loop.advance, evaluate, schedule, logger, checkpointer)
    finally:
        logger.close()
        checkpointer.close()
    if not result.finished:
        print(f"paused at step {result.step}; rerun the same command to resume")
        return {}
    returns = result.last_eval if result.last_eval is not None else loop.evaluate(result.carry, run.eval_episodes)
    summary = {**eval_summary(returns), "step": result.step}
    write_json_atomically(run_dir / "eval.json", summary)
    plot_learning_curves({run.agent: [run_dir]}, run_dir / "learning_curve.png")
    return summary
