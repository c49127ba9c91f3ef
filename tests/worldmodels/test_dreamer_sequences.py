"""Stored transitions become the Dreamer layout: image o_t, the action that led to it, the reward on arriving,
continue and first, with terminal frames kept and episode boundaries inside a window."""

import jax
import jax.numpy as jnp
import numpy as np

from core import replay, sequences
from core.transitions import Transition


def hand_made_window() -> Transition:
    """Three episodes, observations numbered: (0 -> 1 -> 2, terminated), (10 -> 11 -> 12, truncated), (20 -> 21)."""
    obs = jnp.array([0, 1, 10, 11, 20, 21])
    next_obs = jnp.array([1, 2, 11, 12, 21, 22])
    action = jnp.array([[0.1], [0.2], [0.3], [0.4], [0.5], [0.6]])
    reward = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    terminated = jnp.array([False, True, False, False, False, False])
    truncated = jnp.array([False, False, False, True, False, False])
    first = jnp.array([True, False, True, False, True, False])
    return Transition(obs, action, reward, next_obs, terminated, truncated, first)


def test_a_window_becomes_steps_with_terminal_frames_and_episode_starts():
    steps = sequences.window_to_steps(hand_made_window())
    np.testing.assert_array_equal(steps.image, [0, 1, 2, 10, 11, 12])
    np.testing.assert_allclose(steps.action[:, 0], [0.0, 0.1, 0.2, 0.0, 0.3, 0.4])
    np.testing.assert_allclose(steps.reward, [0.0, 1.0, 2.0, 0.0, 3.0, 4.0])
    np.testing.assert_allclose(steps.cont, [1, 1, 0, 1, 1, 1])  # 0 on the terminal frame; truncation keeps 1
    np.testing.assert_array_equal(steps.first, [True, False, False, True, False, False])


def test_discrete_actions_are_one_hot_and_zero_at_first():
    window = hand_made_window().replace(action=jnp.array([1, 2, 0, 1, 2, 0]))
    steps = sequences.window_to_steps(window, num_actions=3)
    np.testing.assert_array_equal(steps.action, [[0, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0], [1, 0, 0], [0, 1, 0]])


def test_sampling_a_sequence_buffer_gives_time_major_batches_in_the_layout():
    example = Transition(jnp.zeros((), jnp.int32), jnp.zeros(1), jnp.zeros(()), jnp.zeros((), jnp.int32),
                         jnp.zeros((), bool), jnp.zeros((), bool), jnp.zeros((), bool))
    state = replay.sequence_init(example, capacity=16, num_envs=2)
    # Env e steps through episodes of 4 transitions: obs 100 e + 10 episode + k, the last one terminated.
    time = jnp.arange(16)
    episode, k = time // 4, time % 4
    obs = 100 * jnp.arange(2)[None, :] + (10 * episode + k)[:, None]
    rows = Transition(obs, (obs[..., None] + 0.5).astype(jnp.float32), obs.astype(jnp.float32), obs + 1,
                      jnp.broadcast_to((k == 3)[:, None], (16, 2)), jnp.zeros((16, 2), bool),
                      jnp.broadcast_to((k == 0)[:, None], (16, 2)))
    state = replay.sequence_add(state, rows)
    batch = jax.jit(lambda s, key: sequences.sample(s, key, 32, 6))(state, jax.random.PRNGKey(0))
    assert batch.image.shape == (6, 32) and batch.action.shape == (6, 32, 1) and batch.first.dtype == bool
    assert bool(jnp.all(batch.first[0]))
    later = ~batch.first[1:]
    # Every non-first step is the arrival at obs + 1 by the previous step's stored action and reward.
    np.testing.assert_array_equal(np.where(later, batch.image[1:] - batch.image[:-1], 1), 1)
    np.testing.assert_allclose(np.where(later, batch.action[1:, :, 0] - batch.image[:-1], 0.5), 0.5)
    np.testing.assert_allclose(np.where(later, batch.reward[1:] - batch.image[:-1], 0.0), 0.0)
    # Terminal frames (k = 4 within an episode) have continue 0 and are followed by an episode start.
    terminal = batch.image % 10 == 4
    np.testing.assert_array_equal(batch.cont, np.where(terminal, 0.0, 1.0))
    np.testing.assert_array_equal(batch.first[1:], terminal[:-1])
    assert np.all(np.where(batch.first, batch.image % 10, 0) <= 3)
    np.testing.assert_array_equal(np.where(batch.first, batch.reward, 0.0), 0.0)
    np.testing.assert_array_equal(np.where(batch.first[..., None], batch.action, 0.0), 0.0)
