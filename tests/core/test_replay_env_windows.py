"""Windows of one env's consecutive steps drawn from the off-policy loop's flat replay (one row per env per step),
the Dreamer layout built from them, and the loop telling an acting carry which action was actually taken."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents.sac import SAC, SACConfig
from core import replay, sequences
from core.loops.off_policy import OffPolicyLoop

NUM_ENVS = 3


def _filled(capacity: int, steps: int) -> replay.ReplayState:
    """`steps` loop iterations of NUM_ENVS rows each: t the step, env the env, first every 5 steps."""
    example = {"t": jnp.zeros((), jnp.int32), "env": jnp.zeros((), jnp.int32), "first": jnp.zeros((), bool)}
    state = replay.init(example, capacity)
    for t in range(steps):
        state = replay.add(state, {"t": jnp.full(NUM_ENVS, t), "env": jnp.arange(NUM_ENVS),
                                   "first": jnp.full(NUM_ENVS, t % 5 == 0)})
    return state


def test_env_windows_are_one_envs_consecutive_steps_and_never_cross_the_write_head():
    state = _filled(capacity=10 * NUM_ENVS, steps=14)  # wrapped: the oldest valid step is 4
    windows = replay.env_window_sample(state, jax.random.key(1), batch_size=128, length=4, num_envs=NUM_ENVS)
    t, env, first = (np.asarray(windows[name]) for name in ("t", "env", "first"))
    assert t.shape == (4, 128)
    assert (np.diff(t, axis=0) == 1).all(), "consecutive steps"
    assert (env == env[:1]).all(), "of one env"
    assert set(env[0]) == set(range(NUM_ENVS)) and t.min() == 4 and t.max() == 13
    assert first[0].all() and (first[1:] == (t[1:] % 5 == 0)).all()


def test_can_sample_windows_counts_steps_per_env_and_the_capacity_must_keep_the_stride():
    state = _filled(capacity=10 * NUM_ENVS, steps=3)
    assert bool(replay.can_sample_windows(state, 3, NUM_ENVS)) and not bool(replay.can_sample_windows(state, 4,
                                                                                                   NUM_ENVS))
    with pytest.raises(ValueError, match="not a multiple of 3 envs"):
        replay.env_window_sample(_filled(capacity=10, steps=3), jax.random.key(0), 2, 2, NUM_ENVS)


class LastActionSAC(SAC):
    """Its acting carry is the last action it was told of, starting at -5 (no action yet)."""

    def initial_carry(self, num_envs):
        return jnp.full((num_envs, self.action_dim), -5.0)

    def act_with_carry(self, state, carry, obs, first, key, deterministic=False):
        action = self.act(state, obs, key, deterministic)
        return action, action, {}

    def carry_with_action(self, carry, action):
        return action


def test_the_loop_tells_the_carry_the_warm_up_action_it_took_and_the_sampler_builds_dreamer_steps():
    env = envs.make("jax:Pendulum-v1")
    config = SACConfig(hidden=(8,), batch_size=4, buffer_size=64 * NUM_ENVS, learning_starts=10_000,
                       num_envs=NUM_ENVS)
    loop = OffPolicyLoop(LastActionSAC(config, env.spec), env, 8 * NUM_ENVS, 0)
    carry, _ = loop.advance(loop.init_carry(jax.random.key(0)))
    last = carry.replay.data.action[7 * NUM_ENVS:8 * NUM_ENVS]  # the random warm-up actions of the last step
    np.testing.assert_array_equal(carry.collector.carry, last)

    batch = sequences.sample_env_windows(carry.replay, jax.random.key(2), 5, 6, NUM_ENVS)
    assert batch.image.shape == (6, 5, 3) and batch.action.shape == (6, 5, 1)
    assert batch.first[0].all() and not batch.first[1:].any(), "a window of 6 steps holds one episode start"
    stored = np.asarray(carry.replay.data.obs).reshape(64, NUM_ENVS, 3)[:8]
    for b in range(5):  # each arrival step's action led to the next stored observation of one env
        rows = [np.flatnonzero(np.all(stored[:, e] == np.asarray(batch.image[0, b]), axis=-1)) for e in
                range(NUM_ENVS)]
        env_index = next(e for e, r in enumerate(rows) if r.size)
        t0 = int(rows[env_index][0])
        np.testing.assert_array_equal(batch.image[1:, b], stored[t0 + 1:t0 + 6, env_index])
