"""load_dataset: sources, checks against an env spec, normalised actions, scores, and a replay buffer of it."""

import jax
import numpy as np
import pytest

import envs
from core import replay
from core.datasets import Dataset, DatasetError, load_dataset, reference_returns, write_d4rl, write_minari
from tests.core.test_datasets_d4rl import make_arrays

SPEC = envs.make("jax:Pendulum-v1").spec  # actions in [-2, 2]
PENDULUM_BOUNDS = {"action_low": [-2.0], "action_high": [2.0]}


def _d4rl_file(tmp_path, name="pendulum.hdf5", metadata=None, **changes):
    arrays = {**make_arrays(), **changes}
    return write_d4rl(tmp_path / name, arrays, metadata), arrays


def test_d4rl_sources_and_actions_in_agent_units(tmp_path, monkeypatch):
    path, arrays = _d4rl_file(tmp_path)
    for source in (f"d4rl:{path}", str(path)):
        dataset = load_dataset(source, SPEC)
        assert isinstance(dataset, Dataset) and dataset.source == source
        np.testing.assert_allclose(dataset.transitions.action, arrays["actions"] / 2.0, atol=1e-6)
        np.testing.assert_array_equal(dataset.transitions.obs, arrays["observations"])
    monkeypatch.setenv("D4RL_DATASET_DIR", str(tmp_path))
    assert load_dataset("d4rl:pendulum.hdf5", SPEC).transitions.num_rows == len(arrays["rewards"])


def test_without_a_spec_the_recorded_action_bounds_normalise(tmp_path):
    path, arrays = _d4rl_file(tmp_path, metadata=PENDULUM_BOUNDS)
    np.testing.assert_allclose(load_dataset(str(path)).transitions.action, arrays["actions"] / 2.0, atol=1e-6)


def test_minari_sources_give_the_same_rows_as_the_d4rl_file(tmp_path, monkeypatch):
    path, arrays = _d4rl_file(tmp_path)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    write_minari("local/pendulum/mixed-v0", arrays, SPEC, -1200.0, -150.0, {"env_id": "jax:Pendulum-v1"})
    from_d4rl = load_dataset(str(path), SPEC).transitions
    for source in ("minari:local/pendulum/mixed-v0", str(tmp_path / "minari" / "local/pendulum/mixed-v0")):
        dataset = load_dataset(source)  # the dataset's own action space normalises without a spec
        jax.tree.map(np.testing.assert_array_equal, dataset.transitions, from_d4rl)
        assert (dataset.ref_min_score, dataset.ref_max_score) == (-1200.0, -150.0)
        assert dataset.normalized_score(-675.0) == pytest.approx(50.0)


def test_scores_from_recorded_refs_else_d4rl_by_env_else_none(tmp_path):
    recorded, _ = _d4rl_file(tmp_path, "a.hdf5", {"ref_min_score": 0.0, "ref_max_score": 10.0})
    assert load_dataset(str(recorded)).normalized_score(5.0) == pytest.approx(50.0)
    by_env, _ = _d4rl_file(tmp_path, "b.hdf5", {"env_id": "gym:HalfCheetah-v5"})
    assert load_dataset(str(by_env)).normalized_score(4000.0) == pytest.approx(34.48, abs=0.005)
    by_name, _ = _d4rl_file(tmp_path, "halfcheetah_medium-v2.hdf5")
    assert (load_dataset(str(by_name)).ref_min_score,
            load_dataset(str(by_name)).ref_max_score) == reference_returns("halfcheetah")
    unknown, _ = _d4rl_file(tmp_path, "c.hdf5", {"env_id": "jax:Pendulum-v1"})
    assert load_dataset(str(unknown)).normalized_score(0.0) is None


def test_transitions_fill_a_replay_buffer_that_samples_dataset_rows(tmp_path):
    path, _ = _d4rl_file(tmp_path)
    transitions = load_dataset(str(path), SPEC).transitions
    buffer = replay.from_arrays(transitions)
    batch = replay.sample(buffer, jax.random.key(0), 64)
    rows = {tuple(np.concatenate([o, a, [r]])) for o, a, r in
            zip(transitions.obs, transitions.action, transitions.reward)}
    sampled = zip(np.asarray(batch.obs), np.asarray(batch.action), np.asarray(batch.reward))
    assert all(tuple(np.concatenate([o, a, [r]])) in rows for o, a, r in sampled)
    assert int(buffer.size) == transitions.num_rows


def test_observation_shape_that_does_not_fit_the_env(tmp_path):
    rows = len(make_arrays()["rewards"])
    path, _ = _d4rl_file(tmp_path, "wide.hdf5", observations=np.zeros((rows, 4), np.float32),
                         next_observations=np.zeros((rows, 4), np.float32))
    with pytest.raises(DatasetError, match=r"wide\.hdf5: obs rows have shape \(4,\), but Pendulum\S* needs \(3,\)"):
        load_dataset(str(path), SPEC)


def test_actions_outside_the_env_bounds(tmp_path):
    actions = make_arrays()["actions"].copy()
    actions[5] = 3.0
    path, _ = _d4rl_file(tmp_path, "loud.hdf5", actions=actions)
    with pytest.raises(DatasetError, match=r"loud\.hdf5: actions leave .* action bounds .*\(row 5: \[3\.0\]\)"):
        load_dataset(str(path), SPEC)


@pytest.mark.parametrize("source, message", [
    ("s3:bucket/data.hdf5", "unknown dataset source prefix 's3'"),
    ("d4rl:/nonexistent/data.hdf5", r"/nonexistent/data\.hdf5: no such file"),
    ("minari:local/absent-v0", "'local/absent-v0': not found locally"),
    ("/nonexistent/folder", "no such dataset file or folder"),
])
def test_bad_sources(source, message, tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    with pytest.raises(DatasetError, match=message):
        load_dataset(source)


def test_not_an_hdf5_file(tmp_path):
    path = tmp_path / "text.hdf5"
    path.write_text("hello")
    with pytest.raises(DatasetError, match=r"text\.hdf5: not an HDF5 file"):
        load_dataset(str(path), SPEC)
