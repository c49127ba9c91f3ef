"""Representation probes: how much of a known quantity a world model's features hold, read off linearly.

A probe fits ridge regression from the features to a target (the true task state, or the distractors' state) on
the steps of the training episodes and reports R^2 on the steps of held-out episodes: near 1 when the features
hold the target linearly, near 0 (or below) when they do not. Features are standardised with the training
statistics first, so one `alpha` suits features of any scale. The HRSSM paper (Sun et al. 2024) argues that a
decoder-free model keeps the task state and drops the distractors; these probes measure both directly.

Ridge is a few lines of numpy (a linear solve of a D x D system), so no regression library is needed.
"""

from __future__ import annotations

import numpy as np


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ridge weights for standardised `x` `[N, D]` -> `y` `[N, K]`: (x mean, x scale, weights `[D, K]`, y mean)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-8, scale, 1.0)  # constant features stay 0 after centring
    xs, y_mean = (x - mean) / scale, y.mean(axis=0)
    weights = np.linalg.solve(xs.T @ xs + alpha * np.eye(xs.shape[1]), xs.T @ (y - y_mean))
    return mean, scale, weights, y_mean


def ridge_predict(fit: tuple, x: np.ndarray) -> np.ndarray:
    mean, scale, weights, y_mean = fit
    return ((np.asarray(x, np.float64) - mean) / scale) @ weights + y_mean


def r2_per_dimension(y: np.ndarray, prediction: np.ndarray) -> list[float | None]:
    """R^2 of each of the target's dimensions; None for a dimension that does not vary in `y`."""
    y, prediction = np.asarray(y, np.float64), np.asarray(prediction, np.float64)
    total = np.sum((y - y.mean(axis=0)) ** 2, axis=0)
    residual = np.sum((y - prediction) ** 2, axis=0)
    varies = total > 1e-12 * len(y)
    return [float(1.0 - r / t) if v else None for r, t, v in zip(residual, total, varies)]


def mean_r2(scores: list[float | None]) -> float:
    """The mean of per-dimension R^2 scores over the dimensions that have one (sklearn's uniform average); nan
    if none has."""
    kept = [s for s in scores if s is not None]
    return float(np.mean(kept)) if kept else float("nan")


def r2(y: np.ndarray, prediction: np.ndarray) -> float:
    """R^2 averaged over the target's dimensions that vary in `y`; nan if none varies."""
    return mean_r2(r2_per_dimension(y, prediction))


def ridge_r2(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
             alpha: float = 1.0) -> float:
    """R^2 on (test_x, test_y) of ridge regression fitted on (train_x, train_y); rows are steps."""
    return mean_r2(ridge_r2_per_dimension(train_x, train_y, test_x, test_y, alpha))


def ridge_r2_per_dimension(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                           alpha: float = 1.0) -> list[float | None]:
    """`ridge_r2`, one score per target dimension (None where the held-out target is constant)."""
    return r2_per_dimension(test_y, ridge_predict(ridge_fit(train_x, train_y, alpha), test_x))


def flat_steps(x: np.ndarray) -> np.ndarray:
    """`[E, L, ...]` -> `[E L, n]`: every step of every episode one row."""
    x = np.asarray(x)
    return x.reshape((x.shape[0] * x.shape[1], -1))
