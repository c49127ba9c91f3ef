"""Monte-Carlo returns of replay rows: exact through terminations, through truncations only far enough from the
cut, never for an episode still under way; interleaved envs are kept apart."""

import numpy as np

from core import replay, return_probe
from core.transitions import Transition


def buffer_of(reward, terminated, truncated, num_envs=1):
    count = len(reward)
    obs = np.arange(count, dtype=np.float32)[:, None]
    data = Transition(obs, np.zeros((count, 1), np.float32), np.asarray(reward, np.float32), obs,
                      np.asarray(terminated, bool), np.asarray(truncated, bool), np.zeros(count, bool))
    return replay.from_arrays(data)


def test_returns_are_exact_through_a_termination_and_unknown_for_an_unfinished_episode():
    #          episode 1 (terminates)   episode 2 (still running)
    reward = [1.0, 1.0, 1.0, 5.0, 5.0]
    buffer = buffer_of(reward, [0, 0, 1, 0, 0], [0, 0, 0, 0, 0])
    returns, known = return_probe.returns_to_go(return_probe.in_time_order(buffer, 1), gamma=0.5)
    np.testing.assert_allclose(returns[:3, 0], [1 + 0.5 + 0.25, 1 + 0.5, 1])
    assert known[:, 0].tolist() == [True, True, True, False, False]


def test_a_truncated_episode_counts_only_rows_far_from_the_cut():
    gamma = 0.5  # horizon: 0.5^7 <= 0.01, so 7 steps must follow within the episode (the row itself included)
    assert return_probe.horizon(gamma) == 7
    buffer = buffer_of(np.ones(10), np.zeros(10), np.arange(10) == 9)
    _, known = return_probe.returns_to_go(return_probe.in_time_order(buffer, 1), gamma)
    assert known[:, 0].tolist() == [True] * 4 + [False] * 6


def test_interleaved_envs_are_separated():
    # Two envs, rows alternate env 0, env 1; env 0 terminates at its 2nd step, env 1 never ends.
    buffer = buffer_of([1, 10, 2, 10, 3, 10], [0, 0, 1, 0, 0, 0], [0] * 6)
    data = return_probe.in_time_order(buffer, 2)
    returns, known = return_probe.returns_to_go(data, gamma=1.0)
    assert known.tolist() == [[True, False], [True, False], [False, False]]
    np.testing.assert_allclose(returns[:2, 0], [3, 2])
    obs, _, mc = return_probe.probe(buffer, 2, 1.0, rows=10)
    assert sorted(obs[:, 0].tolist()) == [0, 2] and sorted(mc.tolist()) == [2, 3]


def test_nothing_known_gives_none():
    assert return_probe.probe(buffer_of([1, 1], [0, 0], [0, 0]), 1, 0.99, rows=5) is None
