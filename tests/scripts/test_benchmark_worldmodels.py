"""The worldmodels suite's pass line and its budgets (the suite itself trains for minutes: not run here)."""

from scripts.benchmarks import worldmodels as suite


def _rows(hrssm_task, rssm_task, hrssm_distractor, rssm_distractor, control=(0.95, 0.95)):
    rows = [{"model": "hrssm", "distractor": "shapes", "task_state_r2": hrssm_task,
             "distractor_state_r2": hrssm_distractor},
            {"model": "rssm", "distractor": "shapes", "task_state_r2": rssm_task,
             "distractor_state_r2": rssm_distractor}]
    return rows + [{"model": m, "distractor": "none", "task_state_r2": v, "distractor_state_r2": None}
                   for m, v in zip(suite.MODELS, control)]


def _readable(rows):
    """The same numbers under the readable targets' keys."""
    return [{"model": r["model"], "distractor": r["distractor"], "task_state_invariant_r2": r["task_state_r2"],
             "distractor_features_r2": r["distractor_state_r2"]} for r in rows]


def test_the_pass_line_needs_the_state_kept_the_distractors_dropped_and_the_control_learned():
    assert suite.verdict(_rows(0.80, 0.81, 0.10, 0.35))[0]
    assert not suite.verdict(_rows(0.70, 0.81, 0.10, 0.35))[0], "task state lost by more than 0.02"
    assert not suite.verdict(_rows(0.80, 0.81, 0.20, 0.35))[0], "distractor R^2 only 0.15 lower"
    passed, lines = suite.verdict(_rows(0.80, 0.81, 0.10, 0.35, control=(0.95, 0.85)))
    assert not passed and lines[-1].startswith("- FAIL: none, rssm")


def test_the_readable_verdict_reads_the_invariant_state_and_the_shape_density():
    passing, failing = _rows(0.80, 0.81, 0.10, 0.35), _rows(0.80, 0.81, 0.20, 0.35)
    assert suite.verdict(_readable(passing), suite.READABLE_TARGETS)[0]
    passed, lines = suite.verdict(_readable(failing), suite.READABLE_TARGETS)
    assert not passed and "distractor_features_r2" in lines[1] and lines[1].startswith("- FAIL")


def test_dreamer_runs_compare_both_models_on_shapes_and_quick_has_one_seed():
    full, quick = suite.dreamer_runs(suite.FULL), suite.dreamer_runs(suite.QUICK)
    assert [r.options[-1] for r in full] == ["hrssm", "rssm"] and all(r.seeds == (0, 1, 2) for r in full)
    assert all("distractor=shapes" in r.env for r in full) and all(r.seeds == (0,) for r in quick)
