"""`--agent dreamer` from the command line: a tiny run on pixels:pendulum_swingup finishes with the world model's
and the actor-critic's metrics logged and resumes exactly; bad options are refused in one line before anything
is written."""

import json

import numpy as np
import pytest

from scripts import train
from tests.agents.test_h2o_cli import assert_resumes_exactly

ENV = "pixels:pendulum_swingup?size=16&max_episode_steps=40"  # the smallest frames: the quickest compile
TINY = ["--depth", "4", "--deter", "16", "--stoch", "4", "--classes", "4", "--units", "16", "--batch-size", "2",
        "--sequence-length", "8", "--horizon", "3", "--patch", "4", "--train-ratio", "8", "--buffer-size", "200",
        "--learning-starts", "40", "--eval-episodes", "1", "--no-progress"]


def test_a_tiny_dreamer_run_logs_both_learners_and_resumes_exactly(tmp_path):
    args = ["--agent", "dreamer", "--env", ENV, "--total-steps", "120", "--log-every", "40", "--eval-every", "80",
            "--seed", "2", *TINY]
    assert_resumes_exactly(args, tmp_path, stop_after=80, total=120)
    run_dir = tmp_path / "whole"
    assert np.isfinite(json.loads((run_dir / "eval.json").read_text())["mean_return"])
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in records if "actor_loss" in r][-1]
    for name in ("latent_rec_loss", "bisim_loss", "kl", "reward_loss", "actor_loss", "critic_loss", "return_scale",
                 "actor_entropy"):
        assert np.isfinite(last[name]), name


@pytest.mark.parametrize(("option", "message"), [
    (["--world-model", "foo"], None),  # tyro's choice error: exits 2 with its own message
    (["--world-model", "rssm", "--act-from", "raw"], "--act-from raw needs --world-model hrssm"),
    (["--env", "jax:Pendulum-v1"], "needs square RGB image observations (uint8 [S, S, 3]"),
    (["--env", "pixels:pendulum_swingup?size=24"], "image side 24 must be 4 times a power of two"),
    (["--patch", "3"], "--patch 3 does not divide the image side 16"),
    (["--horizon", "0"], "--horizon must be positive, got 0"),
])
def test_bad_dreamer_options_are_refused_in_one_line(tmp_path, option, message):
    with pytest.raises((ValueError, SystemExit)) as error:
        train.main(["--agent", "dreamer", "--env", ENV, "--run-dir", str(tmp_path / "no"), *TINY, *option])
    if message is None:
        assert error.type is SystemExit
    else:
        assert error.type is not SystemExit and message in str(error.value)
        assert "\n" not in str(error.value)
    assert not (tmp_path / "no").exists()
