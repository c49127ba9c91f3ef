"""`--agent nha_control` learns: on the unicycle task the target policy, trained by REINFORCE above the trained
controller, picks the resource nearest the start (chance: 1 in 5) and ends nearer to a resource."""

import json

import pytest

from scripts import train

pytestmark = pytest.mark.optimized


def test_the_target_policy_learns_to_pick_the_nearest_resource(tmp_path):
    summary = train.main(["--agent", "nha_control", "--env", "hybrid:unicycle_resources", "--no-progress",
                          "--total-steps", "800", "--controller-steps", "400", "--batch-size", "128",
                          "--log-every", "200", "--eval-every", "400", "--eval-episodes", "256", "--seed", "0",
                          "--run-dir", str(tmp_path / "run")])
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    before = records[1]  # step 400: the controller is trained, the target policy not yet (chance is 1 in 5)
    assert before["step"] == 400 and before["eval_selection_accuracy"] < 0.4
    assert summary["selection_accuracy"] >= 0.8, summary  # 0.895 here
    assert summary["mean_return"] > before["eval_return"] + 0.3, (summary, before)
    assert summary["final_rmse"] < before["eval_final_rmse"]
