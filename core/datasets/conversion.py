"""D4RL rows <-> the suite's `Transition` (core/transitions.py), keeping time limits apart from true ends.

A D4RL row t ends its episode when `terminals[t]` (a true end) or `timeouts[t]` (a time limit); the last row of a
file ends the last episode whatever its flags say. Without `next_observations` the observation that followed a
time limit was never recorded, so such rows are dropped: they cannot be bootstrapped from.
"""

from __future__ import annotations

import warnings

import numpy as np

from core.datasets.d4rl import validate_d4rl
from core.transitions import Transition

LOG_PROB_INFO = "infos/action_log_probs"
LOG_PROB_EXTRA = "behaviour_logp"


def episode_ends(terminals: np.ndarray, timeouts: np.ndarray) -> np.ndarray:
    """Where an episode ends: a true end, a time limit, or the last row."""
    end = np.logical_or(terminals, timeouts)
    if len(end):
        end[-1] = True
    return end


def episode_starts(end: np.ndarray) -> np.ndarray:
    """The first row, and every row after an episode end."""
    return np.concatenate([np.ones(min(len(end), 1), bool), end[:-1]])


def terminal_wins(terminals: np.ndarray, timeouts: np.ndarray, source: str) -> np.ndarray:
    """Timeouts with the rows that are also terminal cleared (they are read as true ends), with a warning."""
    both = np.logical_and(terminals, timeouts)
    if both.any():
        rows = np.flatnonzero(both)
        warnings.warn(f"{source}: {len(rows)} rows (first: {rows[0]}) have both terminals and timeouts set; "
                      "they are read as terminal", stacklevel=3)
    return np.logical_and(timeouts, np.logical_not(terminals))


def d4rl_to_transitions(arrays: dict, qlearning_compat: bool = False, source: str = "D4RL arrays") -> Transition:
    """The rows of a D4RL dataset as a `Transition` with numpy leaves [N, ...], actions in the file's units.

    With `next_observations` every row is kept. Without it, `next_obs[t] = observations[t + 1]` inside an episode,
    rows that end on a time limit (or the unflagged last row) are dropped, and a terminal row keeps its own
    observation as `next_obs` (the real one was not recorded; `terminated` stops any bootstrap from it).
    `first` marks episode starts as they were before any row was dropped.

    `qlearning_compat=True` gives the rows of D4RL's `qlearning_dataset`: `next_obs = observations[t + 1]` always,
    every row with `timeouts` set (also one that is terminal too) and the last row dropped, nothing truncated.
    """
    transitions, _ = d4rl_rows(arrays, qlearning_compat, source)
    return transitions


def d4rl_rows(arrays: dict, qlearning_compat: bool = False,
              source: str = "D4RL arrays") -> tuple[Transition, np.ndarray]:
    """`d4rl_to_transitions` and the indices of the file rows it kept (for carrying other per-row infos)."""
    arrays = validate_d4rl(arrays, source)
    terminals = arrays["terminals"]
    timeouts = terminal_wins(terminals, arrays["timeouts"], source)
    end = episode_ends(terminals, timeouts)
    first = episode_starts(end)
    truncated = np.logical_and(end, np.logical_not(terminals))
    observations = arrays["observations"]
    if qlearning_compat:
        rows = np.flatnonzero(np.logical_not(arrays["timeouts"][:-1]))
        next_obs = observations[rows + 1]
        truncated = np.zeros_like(truncated)
    elif "next_observations" in arrays:
        rows = np.arange(len(terminals))
        next_obs = arrays["next_observations"]
    else:
        rows = np.flatnonzero(np.logical_not(truncated))
        following = np.minimum(rows + 1, len(terminals) - 1)
        next_obs = np.where(_per_row(terminals[rows], observations), observations[rows], observations[following])
    extras = {LOG_PROB_EXTRA: arrays[LOG_PROB_INFO][rows]} if LOG_PROB_INFO in arrays else {}
    transitions = Transition(
        obs=observations[rows], action=arrays["actions"][rows], reward=arrays["rewards"][rows], next_obs=next_obs,
        terminated=terminals[rows], truncated=truncated[rows], first=first[rows], extras=extras)
    return transitions, rows


def transitions_to_d4rl(transitions: Transition) -> dict[str, np.ndarray]:
    """A `Transition` (leaves [N, ...]) as D4RL arrays, `next_observations` included.

    `terminals = terminated`, `timeouts = truncated and not terminated`; the extra `behaviour_logp` becomes
    `infos/action_log_probs` and any other extra `infos/<name>`.
    """
    terminated = np.asarray(transitions.terminated, bool)
    arrays = {
        "observations": np.asarray(transitions.obs), "actions": np.asarray(transitions.action),
        "rewards": np.asarray(transitions.reward, np.float32), "next_observations": np.asarray(transitions.next_obs),
        "terminals": terminated,
        "timeouts": np.logical_and(np.asarray(transitions.truncated, bool), np.logical_not(terminated)),
    }
    for name, value in transitions.extras.items():
        arrays[LOG_PROB_INFO if name == LOG_PROB_EXTRA else f"infos/{name}"] = np.asarray(value)
    return arrays


def _per_row(flags: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Row flags shaped to broadcast against `like` ([N, ...])."""
    return flags.reshape(flags.shape + (1,) * (like.ndim - 1))
