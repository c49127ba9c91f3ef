"""`--agent nha_control` from the command line: runs on both tasks resume exactly (across the unicycle's phase
boundary) and report their metrics; bad input is one line. Its learning: test_nha_control_learns.py."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.agents.test_h2o_cli import assert_resumes_exactly

REPO = Path(__file__).resolve().parents[2]
UNICYCLE = ["--agent", "nha_control", "--env", "hybrid:unicycle_resources", "--no-progress"]
# A tiny paddle run: short data episodes, a short event fit, a small CEM on 8-decision episodes.
PADDLE = ["--agent", "nha_control", "--env", "hybrid:bouncing_ball_paddle?max_episode_steps=8", "--episodes", "4",
          "--event-steps", "20", "--cem-samples", "8", "--cem-iterations", "2", "--cem-elites", "2",
          "--cem-horizon", "4", "--eval-episodes", "2", "--no-progress"]


def test_a_unicycle_run_resumes_exactly_across_its_phases(tmp_path):
    args = [*UNICYCLE, "--total-steps", "40", "--controller-steps", "20", "--batch-size", "8", "--hidden", "8",
            "--log-every", "10", "--eval-every", "20", "--eval-episodes", "4", "--seed", "2"]
    assert_resumes_exactly(args, tmp_path, stop_after=10, total=40)
    records = [json.loads(line) for line in (tmp_path / "parts" / "metrics.jsonl").read_text().splitlines()]
    assert ["controller_loss" in r for r in records] == [True, True, False, False]
    assert ["policy_loss" in r for r in records] == [False, False, True, True]


def test_a_paddle_run_fits_the_automaton_plans_on_it_and_resumes_exactly(tmp_path):
    args = [*PADDLE, "--total-steps", "20", "--log-every", "10", "--eval-every", "0", "--seed", "1"]
    assert_resumes_exactly(args, tmp_path, stop_after=10, total=20)
    summary = json.loads((tmp_path / "whole" / "eval.json").read_text())
    assert np.isfinite(summary["mean_return"]) and summary["mean_return"] <= 0
    np.testing.assert_allclose(summary["rms_apex_error"], np.sqrt(-summary["mean_return"] / 8), rtol=1e-5)


@pytest.mark.parametrize(("args", "message"), [
    (["--env", "jax:Pendulum-v1"], "train: error: --agent nha_control runs on hybrid:unicycle_resources or "
                                   "hybrid:bouncing_ball_paddle, not Pendulum-v1"),
    (["--env", "hybrid:bouncing_ball_paddle", "--cem-elites", "9", "--cem-samples", "8"],
     "train: error: --cem-elites 9 is more than --cem-samples 8"),
    (["--env", "hybrid:unicycle_resources", "--controller-steps", "0"],
     "train: error: --controller-steps must be positive, got 0"),
])
def test_bad_nha_control_input_is_one_line_and_leaves_nothing(tmp_path, args, message):
    run_dir = tmp_path / "run"
    command = [sys.executable, "scripts/train.py", "--agent", "nha_control", *args, "--run-dir", str(run_dir)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.splitlines() == [message], done.stderr
    assert not run_dir.exists()


def test_the_controller_phase_is_whole_chunks_and_a_short_budget_is_warned_of():
    import envs
    from agents.nha_control.agent import NHAControl
    from agents.nha_control.config import NHAControlConfig
    from core.loops.self_supervised import SelfSupervisedLoop

    env = envs.make("hybrid:unicycle_resources")
    loop = SelfSupervisedLoop(NHAControl(NHAControlConfig(controller_steps=250), env.spec), env, 100, 0)
    assert [loop.phase_at(step) for step in (0, 200, 299, 300, 900)] == ["controller"] * 3 + ["policy"] * 2
    assert loop.warnings(1000) == ["controller steps 250 rounded up to 300, whole chunks of --log-every 100"]
    assert loop.warnings(300)[1] == ("--total-steps 300 ends within the controller phase (300 steps): the policy "
                                     "never trains")
