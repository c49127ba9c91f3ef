"""kill -9 at several points, then rerun: each step is logged once (metrics.jsonl and TensorBoard), and damaged
checkpoints fall back to the newest intact one without changing what was saved."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from core.checkpoint import Checkpointer, CheckpointError
from scripts import train

REPO = Path(__file__).resolve().parents[2]
ARGS = ["--agent", "sac", "--env", "jax:Pendulum-v1", "--hidden", "8", "8", "--batch-size", "16", "--buffer-size",
        "1000", "--learning-starts", "100", "--eval-episodes", "1", "--no-progress", "--total-steps", "800",
        "--log-every", "100", "--eval-every", "800", "--checkpoint-every", "300"]

# Runs scripts/train.py and, right after logging step AT_STEP (before that step's checkpoint), sends itself the
# signals named in SIGNALS (e.g. "KILL", "TERM", "INT,INT").
SIGNALLED_TRAIN = """
import os, signal, sys
from core.logging import RunLogger
from scripts import train
at_step, log = int(os.environ["AT_STEP"]), RunLogger.log
def log_then_signal(self, step, metrics):
    record = log(self, step, metrics)
    if step == at_step:
        for name in os.environ["SIGNALS"].split(","):
            os.kill(os.getpid(), getattr(signal, "SIG" + name))
    return record
RunLogger.log = log_then_signal
sys.argv[0] = "scripts/train.py"
train.cli()
"""


def _train_signalled(step: int, run_dir: Path, signals: str = "KILL", extra_args=()) -> subprocess.CompletedProcess:
    env = {**os.environ, "AT_STEP": str(step), "SIGNALS": signals, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", SIGNALLED_TRAIN, *ARGS, *extra_args, "--run-dir", str(run_dir)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def _train_killed_at(step: int, run_dir: Path) -> None:
    done = _train_signalled(step, run_dir)
    assert done.returncode == -9, done.stderr


def _steps(run_dir: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_runs_killed_before_and_after_a_checkpoint_resume_with_each_step_logged_once(tmp_path):
    run_dir = tmp_path / "run"
    _train_killed_at(200, run_dir)  # before the first checkpoint (300)
    assert _steps(run_dir) == [100, 200]
    first_events = list((run_dir / "tensorboard").iterdir())
    assert first_events and all(p.stat().st_size > 200 for p in first_events), "events flushed at every chunk"

    _train_killed_at(500, run_dir)  # after the checkpoint of step 300, before that of 600
    assert _steps(run_dir) == [100, 200, 300, 400, 500]
    assert train.main([*ARGS[2:], "--run-dir", str(run_dir)])["step"] == 800
    assert _steps(run_dir) == [100, 200, 300, 400, 500, 600, 700, 800]

    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert [event.step for event in events.Scalars("steps_per_second")] == [100, 200, 300, 400, 500, 600, 700, 800]


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _truncate_arrays(step_dir: Path) -> None:
    for path in (step_dir / "state").rglob("*"):
        if path.is_file() and path.stat().st_size > 100:
            with open(path, "r+b") as f:
                f.truncate(10)


def _remove_item(step_dir: Path) -> None:
    shutil.rmtree(step_dir / "extra")


def _empty(step_dir: Path) -> None:
    shutil.rmtree(step_dir)
    step_dir.mkdir()


@pytest.fixture(scope="module")
def two_checkpoints(tmp_path_factory) -> Path:
    """A checkpoints dir holding steps 1 and 2 of a small state."""
    folder = tmp_path_factory.mktemp("checkpoints") / "checkpoints"
    checkpointer = Checkpointer(folder)
    for step in (1, 2):
        checkpointer.save(step, {"w": jnp.full(5, float(step))}, {"step": step})
    checkpointer.close()
    return folder


@pytest.mark.parametrize("damage", [_truncate_arrays, _remove_item, _empty])
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one(two_checkpoints, tmp_path, capsys, damage):
    folder = tmp_path / "checkpoints"
    shutil.copytree(two_checkpoints, folder)
    damage(folder / "2")
    saved = _digest(folder)
    checkpointer = Checkpointer(folder)
    state, extra = checkpointer.restore({"w": jnp.zeros(5)})
    checkpointer.close()
    assert extra["step"] == 1 and float(state["w"][0]) == 1.0
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and f"{folder / '2'} is unreadable" in warning[0]
    assert _digest(folder) == saved, "restoring changes nothing saved"


def test_no_readable_checkpoint_is_one_error_naming_each_step(two_checkpoints, tmp_path):
    folder = tmp_path / "checkpoints"
    shutil.copytree(two_checkpoints, folder)
    _truncate_arrays(folder / "1")
    _remove_item(folder / "2")
    checkpointer = Checkpointer(folder)
    with pytest.raises(CheckpointError, match=r"no readable checkpoint in .*step 2: .*; step 1: "):
        checkpointer.restore({"w": jnp.zeros(5)})
    checkpointer.close()


def test_a_resumed_run_passes_a_damaged_checkpoint_and_keeps_its_bytes(tmp_path):
    run_dir = tmp_path / "run"
    args = [*ARGS[2:], "--run-dir", str(run_dir)]
    assert train.main([*args, "--stop-after", "600"]) == {}
    _truncate_arrays(run_dir / "checkpoints" / "600")
    damaged = _digest(run_dir / "checkpoints" / "600")
    assert train.main(args)["step"] == 800
    assert _steps(run_dir) == [100, 200, 300, 400, 500, 600, 700, 800]
    assert _digest(run_dir / "checkpoints" / "600.unreadable") == damaged


def test_a_corrupt_only_checkpoint_is_one_line_from_a_real_process(tmp_path):
    run_dir = tmp_path / "run"
    args = [*ARGS, "--total-steps", "300", "--run-dir", str(run_dir)]
    assert train.main(args[2:])["step"] == 300
    _truncate_arrays(run_dir / "checkpoints" / "300")
    done = subprocess.run([sys.executable, "scripts/train.py", *args, "--total-steps", "600"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("train: error: no readable checkpoint in"), done.stderr


def test_sigterm_pauses_with_the_resume_command_and_a_second_ctrl_c_is_one_line(tmp_path):
    run_dir = tmp_path / "run"
    paused = _train_signalled(200, run_dir, "TERM")
    assert paused.returncode == 75, paused.stderr
    assert f"paused at step 200 (interrupted); run dir: {run_dir}" in paused.stdout
    resume = paused.stdout.split("resume with: ")[1].strip()
    assert resume.startswith("python scripts/train.py --agent sac") and resume.endswith(f"--run-dir {run_dir}")
    assert _steps(run_dir) == [100, 200]

    twice = _train_signalled(400, run_dir, "INT,INT")
    assert twice.returncode == 130
    lines = twice.stderr.strip().splitlines()
    assert lines == ["train: interrupted again before the next checkpoint; rerun the same command to resume from "
                     "the last one"], twice.stderr
    assert train.main([*ARGS[2:], "--run-dir", str(run_dir)])["step"] == 800
    assert _steps(run_dir) == [100, 200, 300, 400, 500, 600, 700, 800]
