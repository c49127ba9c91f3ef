"""`--agent metra` from the command line: a tiny run on the point mass writes coverage, random_coverage and
goal_success to eval.json and the skill picture beside it, resumes exactly, and scripts/evaluate.py redraws and
re-evaluates it; on a gymnasium MuJoCo env the preset keeps the position in the observation and the evaluation
rollouts run on the host."""

import json

import numpy as np
import pytest

from scripts import evaluate, train
from tests.agents.test_h2o_cli import assert_resumes_exactly

TINY = ["--hidden", "16", "16", "--batch-size", "16", "--num-envs", "2", "--learning-starts", "100",
        "--epoch-updates", "4", "--eval-skills", "4", "--goals", "4", "--eval-episodes", "1", "--no-progress"]


def test_a_metra_run_reports_coverage_resumes_exactly_and_evaluates_again(tmp_path, capsys):
    args = ["--agent", "metra", "--env", "jax:PointPlane-v0", "--total-steps", "400", "--log-every", "100",
            "--eval-every", "200", "--seed", "1", *TINY]
    assert_resumes_exactly(args, tmp_path, stop_after=200, total=400)
    run_dir = tmp_path / "whole"
    summary = json.loads((run_dir / "eval.json").read_text())
    for name in ("coverage", "random_coverage", "goal_success", "total_coverage"):
        assert np.isfinite(summary[name]), name
    assert summary["coverage"] >= 1 and summary["random_coverage"] >= 1 and 0 <= summary["goal_success"] <= 1
    assert (run_dir / "evaluation.png").stat().st_size > 0
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {"phi_dist", "dual", "intrinsic_reward", "eval_coverage"} <= set(records[-1])
    again = evaluate.main(["--run-dir", str(run_dir), "--episodes", "1"])
    assert again["coverage"] == summary["coverage"] and again["random_coverage"] == summary["random_coverage"]
    assert "coverage" in capsys.readouterr().out
    pictures = list((run_dir / "evaluations").glob("*.png"))
    assert len(pictures) == 1 and pictures[0].stat().st_size > 0


def test_on_halfcheetah_the_preset_keeps_x_and_skill_rollouts_run_on_the_host(tmp_path):
    import jax

    import envs
    from agents.metra import METRA, METRAConfig
    from agents.registry import get_agent

    env_string = "gym:HalfCheetah-v5?max_episode_steps=10"
    env = envs.make(env_string, **get_agent("metra").env_options(env_string))  # as scripts/run_setup.py builds it
    agent = METRA(METRAConfig(hidden=(8, 8), discrete_skills=True, skill_dim=4, eval_skills=4, goals=2), env.spec)
    assert agent.spec.observation_space.shape == (18,), "x is kept in the observation"
    assert agent.coverage_dims == (0,) and agent.spec.max_episode_steps == 10
    metrics, drawing = agent.evaluation_rollouts(agent.init(jax.random.key(0)), env, jax.random.key(1), seed=0)
    assert metrics["coverage"] >= 1 and metrics["random_coverage"] >= 1 and 0 <= metrics["goal_success"] <= 1
    assert drawing["coords"].shape == (11, 4, 1)
    assert agent.draw_evaluation(drawing, tmp_path / "skills.png").stat().st_size > 0


@pytest.mark.parametrize(("option", "message"), [
    (["--coverage-dims", "0", "7"], "--coverage-dims 0 7 index past the 2 observation entries"),
    (["--method", "lsd"], "--method"),
    (["--skill-dim", "0"], "--skill-dim must be positive, got 0"),
])
def test_bad_metra_options_are_refused_in_one_line(tmp_path, option, message):
    with pytest.raises((ValueError, SystemExit)) as error:
        train.main(["--agent", "metra", "--env", "jax:PointPlane-v0", "--run-dir", str(tmp_path / "no"), *TINY,
                    *option])
    if error.type is not SystemExit:
        assert message in str(error.value)
    assert not (tmp_path / "no").exists()
