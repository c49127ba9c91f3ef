"""Minari datasets created locally: they read back as the D4RL file they came from, and back to it losslessly."""

import jax
import numpy as np
import pytest

import envs
from core.datasets import (
    DatasetError,
    d4rl_to_transitions,
    load_d4rl,
    load_minari,
    minari_to_d4rl,
    write_d4rl,
    write_minari,
)
from tests.core.test_datasets_d4rl import ROWS, TIMEOUT_ROWS, make_arrays

SPEC = envs.make("jax:Pendulum-v1").spec


def _assert_same_transitions(actual, expected):
    assert sorted(actual.extras) == sorted(expected.extras)
    jax.tree.map(np.testing.assert_array_equal, actual, expected)


def test_minari_dataset_loads_back_to_the_transitions_of_the_d4rl_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    arrays = load_d4rl(write_d4rl(tmp_path / "data.hdf5", make_arrays()))
    write_minari("local/pendulum/test-v0", arrays, SPEC, -1000.0, -150.0, {"env_id": "jax:Pendulum-v1", "seed": 7})
    transitions, metadata = load_minari("local/pendulum/test-v0")
    _assert_same_transitions(transitions, d4rl_to_transitions(arrays))
    assert transitions.reward.dtype == np.float32
    assert metadata["total_episodes"] == 4 and metadata["total_steps"] == ROWS
    assert (metadata["ref_min_score"], metadata["ref_max_score"]) == (-1000.0, -150.0)
    assert metadata["env_id"] == "jax:Pendulum-v1"


def test_episodes_carry_seeds_from_the_dataset_seed(tmp_path):
    import minari

    write_minari("seeded-v0", make_arrays(), SPEC, -1000.0, -150.0, {"seed": 7}, root=tmp_path)
    dataset = minari.MinariDataset(tmp_path / "seeded-v0" / "data")
    assert [episode.get("seed") for episode in dataset.storage.get_episode_metadata(range(4))] == [7, 8, 9, 10]


@pytest.mark.parametrize("last_row_flagged", [True, False])
def test_d4rl_to_minari_to_d4rl_is_lossless(tmp_path, last_row_flagged):
    arrays = make_arrays()
    arrays["timeouts"][-1] = last_row_flagged
    original = load_d4rl(write_d4rl(tmp_path / "data.hdf5", arrays))
    write_minari("roundtrip-v0", original, SPEC, -1000.0, -150.0, root=tmp_path)
    back = minari_to_d4rl("roundtrip-v0", root=tmp_path)
    assert sorted(back) == sorted(original)
    for key, value in original.items():
        np.testing.assert_array_equal(back[key], value, err_msg=key)
        assert back[key].dtype == value.dtype, key
    again = load_d4rl(write_d4rl(tmp_path / "again.hdf5", back))
    for key, value in original.items():
        np.testing.assert_array_equal(again[key], value, err_msg=key)


def test_rows_without_next_observations_go_in_as_their_transitions(tmp_path):
    arrays = make_arrays(next_observations=False)
    write_minari("open-v0", arrays, SPEC, -1000.0, -150.0, root=tmp_path)
    transitions, _ = load_minari(tmp_path / "open-v0")  # a dataset folder works as well as an id
    expected = d4rl_to_transitions(arrays)
    for field in ("obs", "action", "reward", "next_obs", "terminated", "first"):
        np.testing.assert_array_equal(getattr(transitions, field), getattr(expected, field), err_msg=field)
    # Dropping a timeout row cuts its episode short: the row before it ends a Minari episode, truncated.
    assert np.flatnonzero(transitions.truncated).tolist() == [TIMEOUT_ROWS[0] - 1, TIMEOUT_ROWS[1] - 2,
                                                             transitions.num_rows - 1]


def test_missing_dataset_and_minari_own_metadata_keys_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="'absent-v0': not found locally"):
        load_minari("absent-v0", root=tmp_path)
    with pytest.raises(DatasetError, match="'total_steps' is Minari's own"):
        write_minari("refused-v0", make_arrays(), SPEC, 0.0, 1.0, {"total_steps": 3}, root=tmp_path)
    assert not (tmp_path / "refused-v0").exists()
