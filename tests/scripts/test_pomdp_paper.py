"""`benchmark.py pomdp --paper`: the plan it trains, its results.json shape, and resuming after an interruption."""

import json

import pytest

from scripts import benchmark
from scripts.benchmarks import pomdp


def test_paper_plan_is_the_papers_budget_in_whole_updates():
    plan = pomdp.make_plan(quick=False, paper=True, envs_=None, memories=None, seeds=None, cpu_preset=False)
    assert plan.memories == ("s5", "gru") and plan.envs == pomdp.PAPER_ENVS and plan.seeds == 8
    assert plan.total_steps % (64 * 1024) == 0 and abs(plan.total_steps - 15_000_000) < 64 * 1024
    assert plan.config("gru").memory_layers == 1 and plan.config("s5").memory_layers == 4
    assert plan.env_name("RepeatPreviousHard").endswith("lag_convention=popjaxrl")
    preset = pomdp.make_plan(quick=False, paper=True, envs_=None, memories=None, seeds=1, cpu_preset=True)
    assert preset.total_steps % (32 * 128) == 0 and preset.config("s5").memory_size == 64
    assert preset.env_name("RepeatPreviousHard").endswith("lag_convention=popjaxrl")


@pytest.mark.parametrize("argv, message", [
    (["smoke", "--paper"], "--paper applies to the pomdp suite only"),
    (["pomdp", "--cpu-preset"], "--cpu-preset only applies with --paper"),
    (["pomdp", "--paper", "--envs", "RepeatPreviousHardd"], "unknown env 'RepeatPreviousHardd'"),
    (["pomdp", "--memories", "s6"], "unknown memory 's6'"),
    (["pomdp", "--seeds", "0"], "--seeds must be at least 1"),
])
def test_bad_suite_options_are_refused_before_the_out_dir_exists(tmp_path, argv, message):
    out_dir = tmp_path / "report"
    with pytest.raises(ValueError, match=message):
        benchmark.main([*argv, "--out-dir", str(out_dir)])
    assert not out_dir.exists()


def test_paper_results_shape_and_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(pomdp, "PAPER_STEPS", 2 * 32 * 128)  # two updates of the CPU preset
    options = dict(paper=True, cpu_preset=True, envs=("RepeatPreviousHard",), memories=("none",), seeds=2)
    result = pomdp.run(tmp_path, **options)
    cell = result.rows["none"]["RepeatPreviousHard"]
    assert set(cell) == {"mmer", "seeds", "env_steps"} and cell["seeds"] == 2 and cell["env_steps"] == 8192
    assert -1.0 <= cell["mmer"] <= 1.0
    assert "(paper" not in result.markdown.split("learning curves")[0].split("| none |")[1].split("\n")[0]
    saved = json.loads((tmp_path / "runs" / "none__RepeatPreviousHard.json").read_text())
    assert len(saved["returns"]) == 2

    def no_training(*args, **kwargs):
        raise AssertionError("a finished cell was trained again")

    monkeypatch.setattr(pomdp, "timed_train", no_training)  # an interrupted run resumes: finished cells read back
    assert pomdp.run(tmp_path, **options).rows == result.rows
