"""`--agent moorl` and `--agent sac-mix` from the command line: a tiny run with a dataset logs the meta-iteration's
metrics and the Q-versus-Monte-Carlo diagnostics, an interrupted MOORL run resumes exactly, and a run without
its dataset is refused in one line."""

import json

import numpy as np
import pytest

from core.config import ConfigError
from scripts import train
from tests.agents.test_h2o_cli import assert_resumes_exactly, random_dataset

TINY = ["--hidden", "16", "16", "--batch-size", "16", "--no-progress"]


def metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_an_interrupted_moorl_run_resumes_exactly(tmp_path):
    dataset = random_dataset(tmp_path / "pendulum.hdf5", 3, 1, 500)
    args = ["--agent", "moorl", "--env", "jax:Pendulum-v1", "--dataset", dataset, "--total-steps", "400",
            "--log-every", "100", "--eval-every", "200", "--eval-episodes", "2", "--seed", "3", "--inner-steps", "4",
            "--warmup-on", "100", "--gamma", "0.9", *TINY]  # gamma 0.9: returns known 44 steps before a cut
    assert_resumes_exactly(args, tmp_path, stop_after=200, total=400)
    records = metrics(tmp_path / "whole")
    assert records[0]["offline_batch"] == 1.0, "no online batch before --warmup-on online rows"
    assert 0 <= records[-1]["offline_batch"] <= 1
    assert np.isfinite(records[-1]["eval_q_offline"]) and np.isfinite(records[-1]["eval_mc_return_offline"])
    assert np.isfinite(records[-1]["eval_q_online"]), "two finished 200-step episodes are in the online replay"


@pytest.mark.parametrize(("agent", "env", "obs_dim", "action_dim"),
                         [("sac-mix", "jax:Pendulum-v1", 3, 1), ("moorl", "gym:HalfCheetah-v5", 17, 6)])
def test_a_hybrid_agent_runs_end_to_end(tmp_path, agent, env, obs_dim, action_dim):
    dataset = random_dataset(tmp_path / "data.hdf5", obs_dim, action_dim, 300)
    summary = train.main(["--agent", agent, "--env", env, "--dataset", dataset, "--total-steps", "200", "--log-every",
                          "100", "--eval-every", "0", "--eval-episodes", "1", "--warmup-on", "50", "--run-dir",
                          str(tmp_path / "run"), *TINY])
    assert np.isfinite(summary["mean_return"])
    assert all(np.isfinite(r["critic_loss"]) for r in metrics(tmp_path / "run"))


@pytest.mark.parametrize("agent", ["moorl", "sac-mix"])
def test_a_hybrid_agent_without_its_dataset_is_refused(tmp_path, agent):
    with pytest.raises(ConfigError, match=f"--agent {agent} trains from offline data: give --dataset"):
        train.main(["--agent", agent, "--env", "jax:Pendulum-v1", "--run-dir", str(tmp_path / "none"), *TINY])
    assert not (tmp_path / "none").exists()
