import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import replay


def _items(start, n):
    return {"x": jnp.arange(start, start + n, dtype=jnp.float32), "flag": jnp.zeros(n, bool)}


def test_flat_buffer_wraps_and_samples_only_written_rows():
    state = replay.init({"x": jnp.zeros(()), "flag": jnp.zeros((), bool)}, capacity=5)
    state = replay.add(state, _items(0, 3))
    batch = replay.sample(state, jax.random.PRNGKey(0), 200)
    assert set(np.asarray(batch["x"]).tolist()) == {0.0, 1.0, 2.0}
    state = replay.add(state, _items(3, 4))  # 7 items into 5 rows: 0 and 1 are overwritten
    assert int(state.size) == 5 and int(state.position) == 2
    assert sorted(np.asarray(state.data["x"]).tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]


def test_sequence_windows_are_consecutive_and_never_cross_the_write_head():
    example = {"t": jnp.zeros((), jnp.int32), "first": jnp.zeros((), bool)}
    state = replay.sequence_init(example, capacity=10, num_envs=3)
    for start in range(0, 14, 2):  # 14 steps into 10 rows: the oldest valid step is 4
        times = jnp.arange(start, start + 2)[:, None].repeat(3, axis=1)
        state = replay.sequence_add(state, {"t": times, "first": times % 5 == 0})
    windows = replay.sequence_sample(state, jax.random.PRNGKey(1), batch_size=64, length=4)
    t = np.asarray(windows["t"])
    assert t.shape == (4, 64)
    assert (np.diff(t, axis=0) == 1).all(), "windows must be consecutive steps"
    assert t.min() >= 4 and t.max() <= 13
    first = np.asarray(windows["first"])
    assert first[0].all(), "the first step of a window starts fresh"
    assert (first[1:] == (t[1:] % 5 == 0)).all(), "stored episode starts are kept inside windows"


def test_mixer_draws_by_ratio_from_each_buffer():
    offline = replay.from_arrays({"source": jnp.zeros(100)})
    online = replay.add(replay.init({"source": jnp.zeros(())}, 50), {"source": jnp.ones(20)})
    batch = replay.mixed_sample((offline, online), (0.75, 0.25), jax.random.PRNGKey(0), 64)
    assert int(np.sum(np.asarray(batch["source"]) == 0)) == 48
    assert replay.mixed_counts((1, 1, 1), 10) == (4, 3, 3)
    with pytest.raises(ValueError):
        replay.mixed_counts((0, 0), 8)


def test_can_sample_refuses_a_window_longer_than_the_written_steps():
    example = {"x": jnp.zeros(()), "first": jnp.zeros((), bool)}
    state = replay.sequence_init(example, capacity=8, num_envs=1)
    steps = {"x": jnp.arange(1.0, 4.0)[:, None], "first": jnp.zeros((3, 1), bool)}
    state = replay.sequence_add(state, steps)  # 3 written steps; a window of 6 would read 3 unwritten rows
    assert not bool(replay.can_sample(state, 6)) and bool(replay.can_sample(state, 3))
    flat = replay.init({"x": jnp.zeros(())}, 4)
    assert not bool(replay.can_sample(flat)) and bool(replay.can_sample(replay.add(flat, {"x": jnp.ones(1)})))

