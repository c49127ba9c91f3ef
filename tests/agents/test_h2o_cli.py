"""`--agent h2o` from the command line: a run on a `shift:` simulator evaluates on the unshifted real env (and
says so), logs the dynamics-aware metrics and a normalised score; an interrupted run resumes exactly; a run
without its dataset is refused in one line."""

import json

import jax
import numpy as np
import pytest

from core.config import ConfigError
from core.datasets import write_d4rl
from scripts import train
from tests.scripts.test_train_cli import _final_params

TINY = ["--hidden", "16", "16", "--classifier-hidden", "16", "16", "--batch-size", "32", "--classifier-batch", "32",
        "--no-progress"]


def random_dataset(path, obs_dim: int, action_dim: int, rows: int, seed: int = 0) -> str:
    """A D4RL-layout file of random rows with the env's shapes, episodes of 100 steps ending in a time-out."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(rows, obs_dim)).astype(np.float32)
    timeouts = (np.arange(rows) % 100) == 99
    write_d4rl(path, {"observations": obs, "actions": rng.uniform(-1, 1, (rows, action_dim)).astype(np.float32),
                      "rewards": rng.normal(size=rows).astype(np.float32),
                      "next_observations": obs + 0.1 * rng.normal(size=(rows, obs_dim)).astype(np.float32),
                      "terminals": np.zeros(rows, bool), "timeouts": timeouts})
    return f"d4rl:{path}"


def assert_resumes_exactly(args: list[str], tmp_path, stop_after: int, total: int) -> None:
    """A run paused at `stop_after` and resumed ends as the uninterrupted run: same summary, same learner."""
    whole = train.main([*args, "--run-dir", str(tmp_path / "whole")])
    assert train.main([*args, "--run-dir", str(tmp_path / "parts"), "--stop-after", str(stop_after)]) == {}
    parts = train.main([*args, "--run-dir", str(tmp_path / "parts")])
    assert parts == whole
    (step_a, state_a), (step_b, state_b) = _final_params(tmp_path / "whole"), _final_params(tmp_path / "parts")
    assert step_a == step_b == total
    for a, b in zip(jax.tree.leaves(state_a["agent"]), jax.tree.leaves(state_b["agent"]), strict=True):
        np.testing.assert_array_equal(a, b)


def test_h2o_on_a_shifted_halfcheetah_evaluates_on_the_real_env(tmp_path, capsys):
    dataset = random_dataset(tmp_path / "cheetah.hdf5", 17, 6, 1200)
    run_dir = tmp_path / "run"
    summary = train.main(["--agent", "h2o", "--env", "shift:HalfCheetah-v5?gravity=2.0", "--dataset", dataset,
                          "--total-steps", "200", "--log-every", "100", "--eval-every", "0", "--eval-episodes", "1",
                          "--run-dir", str(run_dir), *TINY])
    assert "evaluating on gym:HalfCheetah-v5, the unshifted base" in capsys.readouterr().err
    config = json.loads((run_dir / "config.json").read_text())
    assert config["run"]["eval_env"] == "gym:HalfCheetah-v5"
    assert np.isfinite(summary["normalized_score"]), "D4RL's halfcheetah references apply to the real env"
    assert json.loads((run_dir / "eval.json").read_text()) == summary
    last = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()][-1]
    for name in ("classifier_sa_accuracy", "classifier_sas_accuracy", "sim_weight_mean", "gap_score_mean",
                 "q_real", "q_sim", "conservative_penalty"):
        assert np.isfinite(last[name]), name
    assert 0 < last["sim_weight_mean"] <= 1
    assert int(config["agent"]["buffer_size"] or 0) == 0, "the sim replay defaults to 10x the dataset"


def test_an_interrupted_h2o_run_resumes_exactly(tmp_path):
    dataset = random_dataset(tmp_path / "pendulum.hdf5", 3, 1, 500)
    # The simulator: Pendulum with a stronger gravity; the real system (eval env): the default Pendulum.
    args = ["--agent", "h2o", "--env", "jax:Pendulum-v1?g=14.0", "--eval-env", "jax:Pendulum-v1", "--dataset",
            dataset, "--total-steps", "400", "--log-every", "100", "--eval-every", "200", "--eval-episodes", "2",
            "--seed", "3", *TINY]
    assert_resumes_exactly(args, tmp_path, stop_after=200, total=400)


def test_h2o_without_its_real_dataset_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="--agent h2o trains from offline data: give --dataset"):
        train.main(["--agent", "h2o", "--env", "jax:Pendulum-v1", "--run-dir", str(tmp_path / "none"), *TINY])
    assert not (tmp_path / "none").exists()
