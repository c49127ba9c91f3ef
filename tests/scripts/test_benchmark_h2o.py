"""The h2o suite's verdict: a run's score is the mean of its last two real-env evaluations, H2O must beat each
baseline in mean and in at least 2 of 3 seed-paired runs, and the report says which baselines it failed to beat."""

import json

from scripts.benchmarks import h2o


def write_run(path, evaluations):
    path.mkdir(parents=True)
    lines = [{"step": step, "eval_return": value, "sim_weight_mean": 0.5} for step, value in evaluations]
    (path / "metrics.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def test_score_is_the_mean_of_the_last_two_evaluations(tmp_path):
    run = write_run(tmp_path / "run", [(3000, 100.0), (6000, 400.0), (9000, 800.0)])
    assert h2o.score(run) == 600.0
    assert h2o.diagnostics(run) == {"sim_weight_mean": 0.5}


def test_the_verdict_needs_a_higher_mean_and_two_of_three_paired_wins():
    scores = {"h2o": [10.0, 20.0, 30.0], "sac-sim": [5.0, 25.0, 25.0], "cql-real": [0.0, 0.0, 100.0],
              "naive-mix": [1.0, 2.0, 3.0]}
    rows = h2o.experiment_rows("gravity=2.0", scores, {"sim_weight_mean": 0.4})
    assert [r["method"] for r in rows] == ["h2o", "sac-sim", "cql-real", "naive-mix"]
    assert rows[1]["h2o_wins"] == 2 and rows[2]["h2o_wins"] == 2 and rows[3]["h2o_wins"] == 3
    assert rows[0]["sim_weight_mean"] == 0.4
    # cql-real loses 2 of 3 pairings but has the higher mean (33.3 > 20): not beaten.
    assert h2o.verdict(rows) == ("H2O does NOT beat cql-real in mean and in 2 of 3 seed-paired runs at this "
                                 "budget.")
    scores["cql-real"] = [0.0, 0.0, 50.0]
    assert h2o.verdict(h2o.experiment_rows("gravity=2.0", scores, {})).startswith("H2O beats every baseline")
