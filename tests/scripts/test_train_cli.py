"""The train/evaluate entry points end to end: a user's own gymnasium env, resume, and bad inputs."""

import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from scripts import evaluate, train

REPO = Path(__file__).resolve().parents[2]
TINY_SAC = ["--hidden", "16", "16", "--batch-size", "32", "--buffer-size", "2000", "--learning-starts", "200"]


def test_user_gym_env_trains_end_to_end_through_the_script(tmp_path):
    run_dir = tmp_path / "toy"
    command = [sys.executable, "scripts/train.py", "--agent", "sac", "--env",
               "gym:tests.scripts.toy_gym_env:ToyReach-v0", "--total-steps", "600", "--log-every", "200",
               "--eval-every", "600", "--eval-episodes", "2", "--seed", "3", "--run-dir", str(run_dir),
               "--no-progress", *TINY_SAC]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "final evaluation" in done.stdout
    result = json.loads((run_dir / "eval.json").read_text())
    assert result["episodes"] == 2 and np.isfinite(result["mean_return"])
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [200, 400, 600]
    assert (run_dir / "config.json").exists() and (run_dir / "learning_curve.png").exists()
    assert any((run_dir / "tensorboard").iterdir())

    summary = evaluate.main(["--run-dir", str(run_dir), "--episodes", "3"])
    assert summary["episodes"] == 3
    assert json.loads((run_dir / "eval.json").read_text())["episodes"] == 2, "the training result is kept"
    (later,) = (run_dir / "evaluations").iterdir()
    assert json.loads(later.read_text())["episodes"] == 3


def _final_params(run_dir: Path):
    from core.checkpoint import Checkpointer

    checkpointer = Checkpointer(run_dir / "checkpoints")
    step = checkpointer.latest_step()
    restored = checkpointer.manager.restore(step)
    checkpointer.close()
    return step, restored["state"]


def test_interrupted_and_resumed_run_ends_with_the_same_parameters(tmp_path):
    args = ["--env", "jax:Pendulum-v1", "--total-steps", "1200", "--log-every", "300", "--eval-every", "1200",
            "--eval-episodes", "2", "--seed", "7", "--no-progress", *TINY_SAC]
    assert train.main([*args, "--run-dir", str(tmp_path / "whole")])

    paused = train.main([*args, "--run-dir", str(tmp_path / "parts"), "--stop-after", "600"])
    assert paused == {}, "the first invocation pauses without a final evaluation"
    assert not (tmp_path / "parts" / "eval.json").exists()
    train.main([*args, "--run-dir", str(tmp_path / "parts")])

    step_whole, whole = _final_params(tmp_path / "whole")
    step_parts, parts = _final_params(tmp_path / "parts")
    assert step_whole == step_parts == 1200
    leaves_whole, leaves_parts = jax.tree.leaves(whole["agent"]), jax.tree.leaves(parts["agent"])
    assert len(leaves_whole) == len(leaves_parts) > 0
    for a, b in zip(leaves_whole, leaves_parts):
        np.testing.assert_array_equal(a, b)
    logged = [json.loads(line)["step"] for line in (tmp_path / "parts" / "metrics.jsonl").read_text().splitlines()]
    assert logged == [300, 600, 900, 1200], "resume must not duplicate or lose log lines"


def test_a_different_config_on_an_existing_run_dir_is_refused(tmp_path):
    args = ["--env", "jax:Pendulum-v1", "--total-steps", "300", "--log-every", "300", "--eval-episodes", "1",
            "--no-progress", "--run-dir", str(tmp_path / "run"), *TINY_SAC]
    train.main(args)
    before = (tmp_path / "run" / "config.json").read_text()
    with pytest.raises(ValueError, match="use a new --run-dir"):
        train.main([*args, "--gamma", "0.5"])
    assert (tmp_path / "run" / "config.json").read_text() == before


@pytest.mark.parametrize(
    "bad_args, message",
    [
        (["--agent", "sax"], "unknown agent 'sax'; did you mean sac, sac-mix?"),
        (["--env", "jax:Pendulm"], "did you mean Pendulum-v1"),
        (["--env", "nofamily"], "nofamily"),
        (["--env", "jax:CartPole-v1"], "SAC needs a continuous"),
        (["--total-steps", "0"], "--total-steps must be positive"),
    ],
)
def test_bad_training_input_is_one_line_and_saves_nothing(tmp_path, capsys, bad_args, message):
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        sys.argv = ["train", "--run-dir", str(run_dir), "--no-progress", *bad_args]
        train.cli()
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("train: error:")
    assert not run_dir.exists()


def test_bad_input_exits_nonzero_without_traceback_from_a_real_process(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    for command in (
        ["scripts/train.py", "--agent", "nope", "--run-dir", str(tmp_path / "x")],
        ["scripts/evaluate.py", "--run-dir", str(tmp_path / "missing")],
        ["scripts/evaluate.py", "--run-dir", str(tmp_path / "broken")],
    ):
        done = subprocess.run([sys.executable, *command], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_sac_runs_on_a_brax_env(tmp_path):
    summary = train.main(["--env", "brax:fast?episode_length=50", "--total-steps", "300", "--log-every", "100",
                          "--eval-episodes", "2", "--no-progress", "--run-dir", str(tmp_path / "brax"), *TINY_SAC])
    assert summary["episodes"] == 2 and np.isfinite(summary["mean_return"])
