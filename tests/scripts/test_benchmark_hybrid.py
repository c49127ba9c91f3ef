"""The hybrid suite's numbers: a run's score is the mean normalised score of its last three evaluations, MOORL's
Q probes are averaged over seeds per evaluation, and the verdict names what MOORL failed to beat."""

import json

import pytest

from scripts.benchmarks import hybrid


def write_run(path, evaluations, q=None):
    path.mkdir(parents=True)
    lines = [{"step": step, "eval_normalized_score": value, **({"eval_q_offline": q} if q is not None else {})}
             for step, value in evaluations]
    (path / "metrics.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def test_score_is_the_mean_of_the_last_three_evaluations(tmp_path):
    run = write_run(tmp_path / "run", [(2000, 0.0), (4000, 3.0), (6000, 6.0), (8000, 9.0)])
    assert hybrid.score(run) == 6.0


def test_q_curves_average_over_seeds(tmp_path):
    runs = [write_run(tmp_path / f"s{i}", [(2000, 1.0), (4000, 1.0)], q=float(10 * i)) for i in range(3)]
    assert hybrid.q_curves(runs) == {"q_offline": {2000: 10.0, 4000: 10.0}}


def scores(moorl, sac, mix):
    return {"moorl": moorl, "moorl-k1": [0, 0, 0], "hnpg": [0, 0, 0], "h2o-unshifted": [0, 0, 0], "sac": sac,
            "sac-mix": mix, "cql-offline": [0, 0, 0]}


def test_verdict_needs_every_seed_above_sac_and_a_mean_not_below_sac_mix():
    rows = hybrid.cheetah_rows(scores([5.0, 6.0, 7.0], [1.0, 2.0, 3.0], [5.0, 6.0, 7.0]))
    assert rows[4]["moorl_wins"] == 3 and "moorl_wins" not in rows[0]
    assert hybrid.verdict(rows) == ("MOORL beats SAC from scratch in 3/3 seeds; is not below SAC-mix on average "
                                    "(6.0 vs 6.0).")
    rows = hybrid.cheetah_rows(scores([5.0, 1.0, 7.0], [1.0, 2.0, 3.0], [9.0, 9.0, 9.0]))
    assert hybrid.verdict(rows).startswith("MOORL does NOT beat SAC from scratch in 2/3 seeds; is BELOW SAC-mix")


def test_every_method_has_its_budget_in_words():
    runs = hybrid.method_runs("d4rl:x.hdf5", hybrid.QUICK)
    assert set(runs) == set(hybrid.ACCOUNTING)
    assert all("--dataset" in run.options for name, run in runs.items() if name != "sac")
    assert runs["moorl"].options[runs["moorl"].options.index("--inner-steps") + 1] == "5"


@pytest.mark.parametrize("budget", [hybrid.FULL, hybrid.QUICK])
def test_evaluations_fall_on_whole_log_chunks(budget):
    assert budget.online_steps % budget.eval_every == 0 and budget.eval_every % hybrid.LOG_EVERY == 0
