"""Transitions with known discounted Monte-Carlo returns, to set a critic's Q-values next to what they estimate.

A replay buffer or dataset holds episodes in time order (an online replay interleaves its `num_envs` envs row by
row). For each row, the discounted return to the end of its episode is exact where the episode *terminated*;
where it was *truncated* (a time limit), the return misses the rewards after the cut, so a row counts only if at
least `horizon` steps remain before the cut, with `gamma ** horizon <= tolerance`: what is missing then weighs at
most `tolerance` of the value (for gamma 0.99 and 1 %, the first 541 steps of a 1000-step episode). Rows of an
episode still under way have no return yet and never count.

This runs on the host at evaluation time, in numpy: it reads the buffer once per evaluation, which is cheap next
to the evaluation episodes themselves.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from core import replay
from core.transitions import Transition

TOLERANCE = 0.01


def horizon(gamma: float, tolerance: float = TOLERANCE) -> int:
    """Steps after which the discounted tail weighs at most `tolerance`."""
    if gamma <= 0:
        return 1
    if gamma >= 1:
        return math.inf
    return math.ceil(math.log(tolerance) / math.log(gamma))


def in_time_order(buffer: replay.ReplayState, num_envs: int) -> Transition | None:
    """The buffer's rows oldest first, shaped `[steps, num_envs, ...]`; None if its rows cannot be split by env."""
    size, capacity, position = int(buffer.size), int(buffer.capacity), int(buffer.position)
    data = jax.device_get(buffer.data)
    if size < capacity:
        rows = np.arange(size)
    else:
        rows = (position + np.arange(capacity)) % capacity
    if len(rows) % num_envs or (size == capacity and capacity % num_envs):
        return None
    return jax.tree.map(lambda x: x[rows].reshape(len(rows) // num_envs, num_envs, *x.shape[1:]), data)


def returns_to_go(data: Transition, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """(discounted return to the episode's end, whether that return is known well enough), both `[steps, envs]`."""
    reward = np.asarray(data.reward, np.float64)
    terminated = np.asarray(data.terminated, bool)
    ended = terminated | np.asarray(data.truncated, bool)
    returns = np.zeros_like(reward)
    known = np.zeros(reward.shape, bool)
    cut = horizon(gamma)
    following = np.zeros(reward.shape[1])
    remaining = np.full(reward.shape[1], -1.0)  # steps to a truncation; inf after a termination, -1: no end yet
    for t in range(reward.shape[0] - 1, -1, -1):
        following = np.where(ended[t], 0.0, following)
        remaining = np.where(terminated[t], np.inf, np.where(ended[t], 0.0, remaining + (remaining >= 0)))
        following = reward[t] + gamma * following
        returns[t] = following
        known[t] = np.isinf(remaining) | (remaining >= cut - 1)
    return returns, known


def probe(buffer: replay.ReplayState, num_envs: int, gamma: float, rows: int, seed: int = 0):
    """Up to `rows` transitions of `buffer` with a known return: (obs, action, return), or None if none."""
    data = in_time_order(buffer, num_envs)
    if data is None:
        return None
    returns, known = returns_to_go(data, gamma)
    steps, envs = np.nonzero(known)
    if len(steps) == 0:
        return None
    pick = np.random.default_rng(seed).choice(len(steps), size=min(rows, len(steps)), replace=False)
    steps, envs = steps[pick], envs[pick]
    return data.obs[steps, envs], data.action[steps, envs], returns[steps, envs].astype(np.float32)
