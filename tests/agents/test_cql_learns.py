"""CQL trained from a dataset collected by our SAC on jax:Pendulum-v1, with zero env steps, clearly beats the
return of the dataset's random tier; a run without a usable dataset is refused in one line."""

import json

import pytest

from core.config import ConfigError
from core.datasets import DatasetError
from scripts import collect, train

pytestmark = pytest.mark.optimized  # 2 trainings: the optimised programs run the file in 39 s instead of 61 s

COLLECT = ["--env", "jax:Pendulum-v1", "--tier", "mini", "--size", "4000", "--sac-steps", "5000",
           "--snapshot-every", "1000", "--eval-episodes", "4", "--hidden", "64", "64", "--seed", "0",
           "--no-progress", "--format", "d4rl", "--kinds", "random", "medium", "expert", "medium-expert"]
CQL = ["--agent", "cql", "--env", "jax:Pendulum-v1", "--total-steps", "4000", "--log-every", "1000",
       "--eval-every", "0", "--eval-episodes", "5", "--hidden", "64", "64", "--batch-size", "128", "--cql-samples", "4",
       "--actor-lr", "1e-3", "--critic-lr", "1e-3", "--alpha-lr", "1e-3", "--cql-weight", "1.0", "--no-progress"]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    out = tmp_path_factory.mktemp("datasets")
    summary = collect.main([*COLLECT, "--out-dir", str(out)])
    return out, summary


def test_cql_from_sac_data_beats_the_random_tier(datasets, tmp_path):
    out, summary = datasets
    medium_expert = summary["datasets"]["medium-expert"]["d4rl"]
    run_dir = tmp_path / "cql"
    result = train.main([*CQL, "--dataset", f"d4rl:{medium_expert}", "--run-dir", str(run_dir)])
    random_return = summary["random_return"]
    assert result["mean_return"] > random_return + 500, (result, random_return)
    assert 0 < result["normalized_score"] and json.loads((run_dir / "eval.json").read_text()) == result
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1000, 2000, 3000, 4000]
    assert not any("episodes" in r or "episode_return" in r for r in records), "CQL takes no env steps"


def test_cql_without_a_dataset_and_sac_with_one_are_refused(datasets, tmp_path):
    out, summary = datasets
    with pytest.raises(ConfigError, match="--agent cql trains from offline data: give --dataset"):
        train.main([*CQL, "--run-dir", str(tmp_path / "none")])
    with pytest.raises(ConfigError, match="--agent sac does not train from a dataset"):
        train.main(["--agent", "sac", "--dataset", summary["datasets"]["random"]["d4rl"], "--run-dir",
                    str(tmp_path / "sac")])
    with pytest.raises(DatasetError, match="missing.hdf5"):
        train.main([*CQL, "--dataset", str(tmp_path / "missing.hdf5"), "--run-dir", str(tmp_path / "missing")])
    assert not any((tmp_path / name).exists() for name in ("none", "sac", "missing")), "nothing left behind"
