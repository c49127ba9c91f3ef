"""The one transition schema round-trips through the replay buffer, a dataset file and a checkpoint, with the
dtypes of the env spec (pixels stay uint8)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import replay
from core.checkpoint import Checkpointer
from core.datasets import load_dataset, transitions_to_d4rl, write_d4rl
from core.transitions import SchemaError, Transition, check_fits, example
from envs.protocol import EnvSpec
from envs.spaces import Box, Discrete

VECTOR_SPEC = EnvSpec("toy", Box.uniform(-5, 5, (3,)), Box.uniform(-1, 1, (2,)), 10)
PIXEL_SPEC = EnvSpec("pixels", Box.uniform(0, 255, (8, 8, 3), np.uint8), Discrete(4), 10)


def rows(count: int, seed: int = 0) -> Transition:
    rng = np.random.default_rng(seed)
    obs = rng.uniform(-5, 5, (count, 3)).astype(np.float32)
    ends = np.arange(count) % 4 == 3
    first = np.concatenate([[True], ends[:-1]])
    terminated = ends & (np.arange(count) % 8 == 7)
    return Transition(obs, rng.uniform(-1, 1, (count, 2)).astype(np.float32), rng.normal(size=count).astype(np.float32),
                      np.roll(obs, -1, axis=0), terminated, ends & ~terminated, first,
                      {"behaviour_logp": rng.normal(size=count).astype(np.float32)})


def assert_same(a: Transition, b: Transition) -> None:
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_example_rows_take_their_dtypes_from_the_spec():
    pixel = example(PIXEL_SPEC, {"skill": jnp.zeros(4)})
    assert pixel.obs.dtype == jnp.uint8 and pixel.next_obs.dtype == jnp.uint8 and pixel.obs.shape == (8, 8, 3)
    assert pixel.action.dtype == jnp.int32 and pixel.reward.dtype == jnp.float32 and pixel.first.dtype == jnp.bool_
    assert pixel.extras["skill"].shape == (4,) and pixel["skill"].shape == (4,)
    buffer = replay.init(pixel, 16)
    assert buffer.data.obs.dtype == jnp.uint8 and buffer.data.obs.shape == (16, 8, 8, 3)


def test_rows_round_trip_through_the_replay_buffer():
    data = rows(12)
    buffer = replay.add(replay.init(jax.tree.map(lambda x: x[0], data), 12), jax.tree.map(jnp.asarray, data))
    assert_same(buffer.data, data)
    batch = replay.sample(buffer, jax.random.PRNGKey(0), 5)
    picked = [int(np.flatnonzero((data.obs == row).all(axis=1))[0]) for row in np.asarray(batch.obs)]
    assert_same(batch, jax.tree.map(lambda x: x[np.array(picked)], data))


def test_rows_round_trip_through_a_d4rl_file(tmp_path):
    data = rows(12)
    path = write_d4rl(tmp_path / "toy.hdf5", transitions_to_d4rl(data))
    loaded = load_dataset(f"d4rl:{path}", VECTOR_SPEC).transitions
    assert_same(loaded, data)


def test_rows_round_trip_through_a_checkpoint(tmp_path):
    buffer = replay.from_arrays(jax.tree.map(jnp.asarray, rows(12)))
    with Checkpointer(tmp_path / "ckpt") as checkpointer:
        checkpointer.save(3, buffer, {"step": 3})
        restored, extra = checkpointer.restore(replay.from_arrays(jax.tree.map(jnp.zeros_like, buffer.data)))
    assert extra["step"] == 3 and int(restored.size) == 12
    assert_same(restored.data, rows(12))


def test_rows_that_do_not_fit_the_spec_are_refused_by_name():
    with pytest.raises(SchemaError, match="obs rows have shape \\(3,\\), but pixels needs \\(8, 8, 3\\)"):
        check_fits(rows(4), PIXEL_SPEC, "toy rows")
    check_fits(rows(4), VECTOR_SPEC, "toy rows")
