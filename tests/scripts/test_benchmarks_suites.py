"""The benchmark registry imports a suite's module only when that suite is asked for; the `mujoco` suite's runs,
seeds and --quick form; a training suite's table carries the extra metrics of its runs' eval.json."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.benchmarks import mujoco, report, training

REPO = Path(__file__).resolve().parents[2]


def test_the_registry_imports_only_the_suite_asked_for():
    probe = """
import sys
import scripts.benchmark
from scripts.benchmarks import SUITES, load_suite
suites = [m for m in SUITES.values() if isinstance(m, str)]
before = [m for m in suites if m in sys.modules]
load_suite("smoke")
after = [m for m in suites if m in sys.modules]
print(before, after)
"""
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "['scripts.benchmarks.smoke']"]


def test_an_unknown_suite_is_one_line_naming_the_close_one():
    from scripts.benchmarks import UnknownSuiteError, load_suite

    with pytest.raises(UnknownSuiteError, match="unknown suite 'mujocco'; did you mean mujoco"):
        load_suite("mujocco")


def test_mujoco_suite_trains_sac_on_four_tasks_three_seeds_and_quick_keeps_the_budget_with_one_seed():
    runs = mujoco.SUITE.planned(quick=False)
    assert [r.env for r in runs] == ["gym:HalfCheetah-v5", "gym:Hopper-v5", "gym:Walker2d-v5", "gym:Ant-v5"]
    assert all(r.agent == "sac" and r.options == () for r in runs), "SAC's own defaults"
    assert {(r.total_steps, r.seeds, r.log_every, r.eval_every, r.eval_episodes) for r in runs} == {
        (100_000, (0, 1, 2), 5_000, 10_000, 10)}
    quick = mujoco.SUITE.planned(quick=True)
    assert [r.seeds for r in quick] == [(0,)] * 4
    assert [dataclasses.replace(r, seeds=(0, 1, 2)) for r in quick] == list(runs), "only the seeds change"
    argv = training.train_argv(runs[1], 2, Path("out/Hopper-v5__seed2"))
    assert argv[argv.index("--eval-every") + 1] == "10000" and argv[argv.index("--seed") + 1] == "2"


def test_the_default_quick_form_is_two_log_chunks():
    run = training.Run("ppo", "jax:CartPole-v1", 10_000, log_every=1_000, eval_every=5_000)
    assert training.TrainingSuite((run,)).planned(quick=True) == (
        dataclasses.replace(run, total_steps=2_000, eval_every=None),)


def test_a_short_hopper_run_through_the_mujoco_suite_writes_its_table_and_one_panel_per_env(tmp_path):
    tiny = training.Run("sac", "gym:Hopper-v5", 200, seeds=(0, 1), log_every=100, eval_every=100, eval_episodes=1,
                        options=("--hidden", "8", "8", "--batch-size", "8", "--learning-starts", "100"),
                        label="Hopper-v5")
    suite = dataclasses.replace(mujoco.SUITE, runs=(tiny,))
    result = suite.run(tmp_path, quick=True)
    [row] = result.rows
    assert (row["run"], row["steps"], row["seeds"]) == ("Hopper-v5", 200, 1)
    assert result.curves == "by-run" and list(result.run_dirs) == ["Hopper-v5"]
    assert "200 env steps per run, seed 0;" in result.body and "| Hopper-v5 | gym:Hopper-v5 | 200 | 1 |" in result.body
    path = report.write_report("mujoco", tmp_path, result, 1.0)
    assert (tmp_path / "learning_curves.png").stat().st_size > 0 and "learning_curves.png" in path.read_text()
    records = map(json.loads, (tmp_path / "runs/Hopper-v5__seed0/metrics.jsonl").read_text().splitlines())
    assert [r["step"] for r in records if "eval_return" in r] == [100, 200], "evaluated every --eval-every"


def test_extra_eval_metrics_become_columns_of_the_training_table():
    run = training.Run("sac", "gym:Hopper-v5", 100, label="hopper")
    results = [{"final_return": r, "steps_per_second": 10.0, "wall_seconds": 1.0, "steps": 100,
                "metrics": {"normalized_score": s}} for r, s in ((1.0, 0.25), (3.0, 0.75))]
    row = training.summarize(run, results)
    assert row["normalized_score_mean"] == 0.5 and row["normalized_score_std"] == 0.25
    table = report.markdown_table([row])
    assert table.splitlines()[0] == ("| run | env | steps | seeds | return | normalized_score | steps_per_second | "
                                     "wall_seconds |")
    assert "| 2.0 +- 1.0 | 0.5 +- 0.25 |" in table
