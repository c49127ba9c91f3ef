"""D4RL layout: a written file reads back identically, rows convert to transitions as D4RL's flags say."""

import warnings

import h5py
import numpy as np
import pytest

from core.datasets import DatasetError, d4rl_to_transitions, load_d4rl, load_d4rl_metadata, write_d4rl

ROWS = 40
TIMEOUT_ROWS = (9, 29)
TERMINAL_ROW = 19


def make_arrays(seed: int = 0, rows: int = ROWS, next_observations: bool = True) -> dict:
    """Pendulum-shaped rows in env units: episodes end on timeouts at 9 and 29 and a terminal at 19.

    Inside an episode next_observations[t] == observations[t + 1]; at an episode end it is the final observation.
    """
    rng = np.random.default_rng(seed)
    observations = rng.normal(size=(rows, 3)).astype(np.float32)
    following = np.concatenate([observations[1:], rng.normal(size=(1, 3)).astype(np.float32)])
    terminals, timeouts = np.zeros(rows, bool), np.zeros(rows, bool)
    timeouts[list(TIMEOUT_ROWS)] = True
    terminals[TERMINAL_ROW] = True
    for row in (*TIMEOUT_ROWS, TERMINAL_ROW):
        following[row] = rng.normal(size=3)
    arrays = {"observations": observations, "actions": rng.uniform(-2, 2, (rows, 1)).astype(np.float32),
              "rewards": rng.normal(size=rows).astype(np.float32), "terminals": terminals, "timeouts": timeouts,
              "infos/action_log_probs": rng.normal(size=rows).astype(np.float32),
              "infos/qpos": rng.normal(size=(rows, 2))}
    if next_observations:
        arrays["next_observations"] = following
    return arrays


def test_written_file_loads_back_identically(tmp_path):
    arrays = make_arrays()
    path = write_d4rl(tmp_path / "data.hdf5", arrays, {"algorithm": "SAC", "policy/nonlinearity": "relu",
                                                      "seed": 3, "extra": {"a": 1}})
    loaded = load_d4rl(path)
    assert sorted(loaded) == sorted(arrays)
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)
    assert loaded["observations"].dtype == np.float32 and loaded["terminals"].dtype == bool
    assert load_d4rl_metadata(path) == {"algorithm": "SAC", "policy/nonlinearity": "relu", "seed": 3,
                                        "extra": {"a": 1}}
    with h5py.File(path) as file:
        assert file["observations"].compression == "gzip"
        assert file["metadata/algorithm"][()] == b"SAC"


def test_writing_refuses_keys_outside_the_layout(tmp_path):
    with pytest.raises(DatasetError, match="'skill' is no D4RL key"):
        write_d4rl(tmp_path / "data.hdf5", {**make_arrays(), "skill": np.zeros(ROWS)})
    assert not list(tmp_path.iterdir())


def test_rewards_stored_as_a_column_are_squeezed(tmp_path):
    arrays = make_arrays()
    arrays["rewards"] = arrays["rewards"][:, None]
    loaded = load_d4rl(write_d4rl(tmp_path / "data.hdf5", arrays))
    assert loaded["rewards"].shape == (ROWS,)


def test_with_next_observations_every_row_is_kept_and_flags_stay_apart():
    arrays = make_arrays()
    transitions = d4rl_to_transitions(arrays)
    assert transitions.num_rows == ROWS
    np.testing.assert_array_equal(transitions.next_obs, arrays["next_observations"])
    assert np.flatnonzero(transitions.terminated).tolist() == [TERMINAL_ROW]
    assert np.flatnonzero(transitions.truncated).tolist() == [*TIMEOUT_ROWS, ROWS - 1]  # the data's end too
    assert np.flatnonzero(transitions.first).tolist() == [0, 10, 20, 30]
    np.testing.assert_array_equal(transitions.extras["behaviour_logp"], arrays["infos/action_log_probs"])


def test_without_next_observations_timeout_rows_and_the_open_last_row_are_dropped():
    arrays = make_arrays(next_observations=False)
    transitions = d4rl_to_transitions(arrays)
    kept = [row for row in range(ROWS) if row not in (*TIMEOUT_ROWS, ROWS - 1)]
    np.testing.assert_array_equal(transitions.obs, arrays["observations"][kept])
    inside = [row for row in kept if row != TERMINAL_ROW]
    np.testing.assert_array_equal(transitions.next_obs[[kept.index(r) for r in inside]],
                                  arrays["observations"][np.array(inside) + 1])
    assert not transitions.truncated.any()
    assert transitions.terminated.sum() == 1
    # Episode starts as they were before dropping: rows 0, 10, 20 and 30 are all kept.
    assert np.flatnonzero(transitions.first).tolist() == [kept.index(r) for r in (0, 10, 20, 30)]


def test_qlearning_compat_reproduces_d4rl_qlearning_dataset():
    arrays = make_arrays()  # next_observations present: qlearning_dataset ignores it
    transitions = d4rl_to_transitions(arrays, qlearning_compat=True)
    expected = [i for i in range(ROWS - 1) if not arrays["timeouts"][i]]  # D4RL's loop over range(N - 1)
    np.testing.assert_array_equal(transitions.obs, arrays["observations"][expected])
    np.testing.assert_array_equal(transitions.next_obs, arrays["observations"][np.array(expected) + 1])
    np.testing.assert_array_equal(transitions.terminated, arrays["terminals"][expected])
    np.testing.assert_array_equal(transitions.reward, arrays["rewards"][expected])


def test_a_row_with_both_flags_is_terminal_with_a_warning():
    arrays = make_arrays()
    arrays["terminals"][TIMEOUT_ROWS[0]] = True
    with pytest.warns(UserWarning, match="both terminals and timeouts"):
        transitions = d4rl_to_transitions(arrays)
    assert transitions.terminated[TIMEOUT_ROWS[0]] and not transitions.truncated[TIMEOUT_ROWS[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d4rl_to_transitions(make_arrays())  # no warning without such a row


def _write_raw(path, arrays):
    with h5py.File(path, "w") as file:
        for key, value in arrays.items():
            file.create_dataset(key, data=value)
    return path


def test_missing_key_is_named(tmp_path):
    arrays = make_arrays()
    del arrays["terminals"]
    path = _write_raw(tmp_path / "no_terminals.hdf5", arrays)
    with pytest.raises(DatasetError, match=r"no_terminals\.hdf5: missing key 'terminals'"):
        load_d4rl(path)


def test_mismatched_lengths_name_both_keys_and_lengths(tmp_path):
    arrays = make_arrays()
    arrays["actions"] = arrays["actions"][:-1]
    path = _write_raw(tmp_path / "short.hdf5", arrays)
    message = rf"short\.hdf5: 'actions' has {ROWS - 1} rows but 'observations' has {ROWS}"
    with pytest.raises(DatasetError, match=message):
        load_d4rl(path)


def test_wrong_rank_is_refused(tmp_path):
    arrays = make_arrays()
    arrays["observations"] = arrays["observations"][:, 0]
    path = _write_raw(tmp_path / "flat.hdf5", arrays)
    with pytest.raises(DatasetError, match=r"flat\.hdf5: 'observations' has shape \(40,\)"):
        load_d4rl(path)


def test_not_an_hdf5_file_and_a_missing_file(tmp_path):
    text = tmp_path / "notes.hdf5"
    text.write_text("not hdf5")
    with pytest.raises(DatasetError, match=r"notes\.hdf5: not an HDF5 file"):
        load_d4rl(text)
    with pytest.raises(DatasetError, match=r"absent\.hdf5: no such file"):
        load_d4rl(tmp_path / "absent.hdf5")
