"""The scan GAE equals a plain Python loop over time, with terminations and truncations in the sequence."""

import numpy as np

from core.gae import gae


def loop_gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    steps, envs = rewards.shape
    advantages = np.zeros((steps, envs))
    for b in range(envs):
        running = 0.0
        for t in reversed(range(steps)):
            done = terminated[t, b] or truncated[t, b]
            bootstrap = 0.0 if terminated[t, b] else gamma * next_values[t, b]
            delta = rewards[t, b] + bootstrap - values[t, b]
            running = delta + (0.0 if done else gamma * lam * running)
            advantages[t, b] = running
    return advantages, advantages + values


def test_scan_gae_equals_python_loop_with_truncations():
    rng = np.random.default_rng(0)
    steps, envs = 37, 5
    rewards, values, next_values = (rng.normal(size=(steps, envs)).astype(np.float32) for _ in range(3))
    terminated = rng.random((steps, envs)) < 0.08
    truncated = (rng.random((steps, envs)) < 0.08) & ~terminated
    assert terminated.any() and truncated.any()
    expected = loop_gae(rewards, values, next_values, terminated, truncated, 0.97, 0.9)
    got = gae(rewards, values, next_values, terminated, terminated | truncated, 0.97, 0.9)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-5)


def test_truncation_bootstraps_from_the_final_observation_value():
    # One step that hits the time limit: the advantage is r + gamma * V(final_obs) - V(obs), not r - V(obs).
    adv, _ = gae(np.array([[1.0]]), np.array([[2.0]]), np.array([[10.0]]), np.array([[False]]),
                 np.array([[True]]), 0.5, 0.9)
    assert float(adv[0, 0]) == 1.0 + 0.5 * 10.0 - 2.0
