"""scripts/collect.py end to end on JAX Pendulum with a tiny budget: five datasets that load, with their metadata."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.datasets import load_d4rl, load_d4rl_metadata, load_dataset
from scripts import collect

REPO = Path(__file__).resolve().parents[2]
TINY = ["--env", "jax:Pendulum-v1", "--tier", "mini", "--size", "2000", "--sac-steps", "3000",
        "--snapshot-every", "500", "--eval-episodes", "4", "--hidden", "32", "32", "--seed", "0", "--no-progress"]
METADATA_KEYS = {"ref_min_score", "ref_max_score", "ref_source", "local_random_return", "local_expert_return",
                 "env_id", "dataset_kind", "seed", "behaviour_checkpoint_step", "behaviour_return_mean",
                 "behaviour_return_std", "num_episodes", "algorithm", "iteration", "policy/nonlinearity",
                 "policy/output_distribution"}


def _mean_episode_return(arrays: dict) -> float:
    ends = np.flatnonzero(arrays["terminals"] | arrays["timeouts"])
    return float(np.mean(np.diff(np.concatenate([[0.0], np.cumsum(arrays["rewards"], dtype=np.float64)[ends]]))))


def test_collect_writes_five_datasets_that_load(tmp_path):
    import envs

    summary = collect.main([*TINY, "--out-dir", str(tmp_path)])
    spec = envs.make("jax:Pendulum-v1").spec
    assert sorted(summary["datasets"]) == sorted(collect.KINDS)
    for kind, written in summary["datasets"].items():
        d4rl_path = tmp_path / f"jax-Pendulum-v1_{kind.replace('-', '_')}-local-v0.hdf5"
        assert written["d4rl"] == str(d4rl_path)
        from_d4rl, from_minari = load_dataset(str(d4rl_path), spec), load_dataset(written["minari"], spec)
        np.testing.assert_array_equal(from_d4rl.transitions.obs, from_minari.transitions.obs)
        assert METADATA_KEYS <= set(from_d4rl.metadata) and METADATA_KEYS <= set(from_minari.metadata)
        metadata = from_d4rl.metadata
        assert metadata["dataset_kind"] == kind and metadata["env_id"] == "jax:Pendulum-v1"
        assert metadata["algorithm"] == "SAC" and metadata["policy/nonlinearity"] == "relu"
        assert metadata["ref_source"] == "local"  # D4RL has no Pendulum references
        assert (metadata["ref_min_score"], metadata["ref_max_score"]) == (metadata["local_random_return"],
                                                                          metadata["local_expert_return"])
        assert from_d4rl.normalized_score(metadata["ref_max_score"]) == pytest.approx(100.0)
        assert np.all(np.abs(from_d4rl.transitions.action) <= 1.0)
    sizes = {kind: written["rows"] for kind, written in summary["datasets"].items()}
    assert sizes["random"] == sizes["medium"] == sizes["expert"] == 2000
    assert sizes["medium-replay"] == summary["medium_step"]
    random_rows = load_d4rl(tmp_path / "jax-Pendulum-v1_random-local-v0.hdf5")
    expert_rows = load_d4rl(tmp_path / "jax-Pendulum-v1_expert-local-v0.hdf5")
    assert _mean_episode_return(random_rows) < _mean_episode_return(expert_rows)
    assert "infos/action_log_probs" in expert_rows
    np.testing.assert_allclose(random_rows["infos/action_log_probs"], -np.log(2.0), rtol=1e-6)
    expert_metadata = load_d4rl_metadata(tmp_path / "jax-Pendulum-v1_medium_expert-local-v0.hdf5")
    assert expert_metadata["behaviour_checkpoint_steps"] == [summary["medium_step"], summary["expert_step"]]

    with pytest.raises(FileExistsError, match="exists; pass --overwrite"):
        collect.main([*TINY, "--out-dir", str(tmp_path), "--kinds", "random"])


def test_help_lists_every_option_and_bad_input_is_one_line():
    done = subprocess.run([sys.executable, "scripts/collect.py", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for option in ("--env", "--kinds", "--out-dir", "--format", "--size", "--sac-steps", "--snapshot-every",
                   "--eval-episodes", "--seed", "--hidden", "--tier", "--quick", "--overwrite"):
        assert option in done.stdout, option
    bad = subprocess.run([sys.executable, "scripts/collect.py", "--env", "jax:CartPole-v1", "--tier", "mini"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "collect: error:" in bad.stderr and "Box" in bad.stderr


def test_console_entry_point():
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["hsrl-collect"] == "scripts.collect:cli"
    assert callable(collect.cli)
