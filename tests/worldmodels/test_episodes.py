"""The episode dataset layout of scripts/fit.py: files round-trip, bad files are refused in one line, windows are
drawn in the Dreamer layout, and collection fills the layout from a pixels env."""

import numpy as np
import pytest

from worldmodels import episodes
from worldmodels.collection import collect
from worldmodels.episodes import EpisodeDataError, Episodes


def _episodes(num=4, length=6, size=8, states=True):
    rng = np.random.default_rng(0)
    extra = {"task_state": rng.normal(size=(num, length, 3)).astype(np.float32),
             "distractor_state": rng.normal(size=(num, length, 4)).astype(np.float32)} if states else {}
    return Episodes(rng.integers(0, 256, (num, length, size, size, 3), dtype=np.uint8),
                    rng.uniform(-1, 1, (num, length, 2)).astype(np.float32),
                    rng.uniform(0, 1, (num, length)).astype(np.float32), env="pixels:test", **extra)


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
@pytest.mark.parametrize("states", [True, False])
def test_a_saved_dataset_reads_back_equal(tmp_path, suffix, states):
    data = _episodes(states=states)
    loaded = episodes.load(episodes.save(data, tmp_path / f"data{suffix}"))
    assert loaded.env == "pixels:test"
    for name in ("image", "action", "reward", "task_state", "distractor_state"):
        a, b = getattr(data, name), getattr(loaded, name)
        assert (a is None) == (b is None) == (not states and name.endswith("state"))
        if a is not None:
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("reward"), "missing reward"),
    (lambda a: a.update(image=a["image"].astype(np.float32)), "image must be uint8"),
    (lambda a: a.update(action=a["action"][:, :-1]), "action must be numbers"),
    (lambda a: a.update(task_state=np.full((4, 6, 3), np.nan, np.float32)), "task_state holds nan"),
])
def test_a_malformed_file_is_refused(tmp_path, change, message):
    data = _episodes()
    arrays = {k: getattr(data, k) for k in ("image", "action", "reward", "task_state", "distractor_state")}
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(EpisodeDataError, match=message):
        episodes.load(tmp_path / "bad.npz")


def test_a_file_that_is_no_npz_is_refused_in_one_line(tmp_path):
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(EpisodeDataError, match="cannot be read"):
        episodes.load(tmp_path / "junk.npz")


def test_windows_come_from_one_episode_each_in_order():
    data = _episodes(num=3, length=10)
    data = Episodes(data.image, data.action, np.arange(30, dtype=np.float32).reshape(3, 10))
    batch = episodes.sample_windows(episodes.device_arrays(data), __import__("jax").random.PRNGKey(0), 5, 4)
    reward = np.asarray(batch.reward)  # [T, B]: rewards number the steps, so a window counts up by one
    assert reward.shape == (4, 5)
    np.testing.assert_array_equal(np.diff(reward, axis=0), 1.0)
    assert np.all(reward[0] // 10 == reward[-1] // 10), "a window never crosses episodes"
    assert np.asarray(batch.first)[0].all() and not np.asarray(batch.first)[1:].any()


def test_split_holds_out_the_last_episodes_and_refuses_holding_out_all():
    train, heldout = episodes.split(_episodes(num=4), 1)
    assert train.num_episodes == 3 and heldout.num_episodes == 1
    with pytest.raises(EpisodeDataError, match="--holdout 4"):
        episodes.split(_episodes(num=4), 4)


def test_collection_fills_the_layout_with_sticky_actions():
    data = collect("pixels:pendulum_swingup?distractor=shapes&num_shapes=2&size=16", 3, 12, 0.8, 0)
    assert data.image.shape == (3, 12, 16, 16, 3) and data.image.dtype == np.uint8
    assert data.task_state.shape == (3, 12, 3) and data.distractor_state.shape == (3, 12, 4)
    assert np.all(data.action[:, 0] == 0) and np.all(data.reward[:, 0] == 0)
    repeats = np.mean(data.action[:, 2:] == data.action[:, 1:-1])
    assert 0.5 < repeats < 1.0, "about 80 % of the steps repeat the previous action"
    np.testing.assert_allclose(np.hypot(data.task_state[..., 0], data.task_state[..., 1]), 1.0, atol=1e-5)
