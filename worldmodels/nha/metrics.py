"""Metrics of a learned hybrid model: mode recovery (homogeneity, completeness, v-measure; Rosenberg and
Hirschberg 2007), distances between sojourn-time laws (Kolmogorov-Smirnov), and mode occupancy."""

from __future__ import annotations

import numpy as np
from scipy import stats


def contingency(true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """[classes, clusters] counts of (true label, predicted label) pairs."""
    _, t = np.unique(true, return_inverse=True)
    _, p = np.unique(predicted, return_inverse=True)
    table = np.zeros((t.max() + 1, p.max() + 1))
    np.add.at(table, (t, p), 1.0)
    return table


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _conditional_entropy(table: np.ndarray) -> float:
    """H(rows | columns) of a contingency table."""
    total = table.sum()
    h = 0.0
    for column in table.T:
        n = column.sum()
        if n > 0:
            h += n / total * _entropy(column)
    return h


def v_measure(true, predicted) -> dict[str, float]:
    """Homogeneity (each cluster holds one class), completeness (each class sits in one cluster) and their
    harmonic mean, the v-measure. A single class (or single cluster) counts as perfectly homogeneous (complete)."""
    table = contingency(np.asarray(true).ravel(), np.asarray(predicted).ravel())
    h_class, h_cluster = _entropy(table.sum(1)), _entropy(table.sum(0))
    homogeneity = 1.0 if h_class == 0 else 1.0 - _conditional_entropy(table) / h_class
    completeness = 1.0 if h_cluster == 0 else 1.0 - _conditional_entropy(table.T) / h_cluster
    v = 0.0 if homogeneity + completeness == 0 else 2 * homogeneity * completeness / (homogeneity + completeness)
    return {"homogeneity": homogeneity, "completeness": completeness, "v_measure": v}


def label_map(true: np.ndarray, predicted: np.ndarray, modes: int) -> np.ndarray:
    """[modes] the true mode each learned mode most often coincides with (-1 for unused learned modes)."""
    mapping = np.full(modes, -1)
    for k in range(modes):
        hits = true[predicted == k]
        if hits.size:
            mapping[k] = np.bincount(hits).argmax()
    return mapping


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance (NaN when either sample is empty)."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(stats.ks_2samp(a, b).statistic)


def ks_to_cdf(samples: np.ndarray, cdf) -> float:
    """One-sample Kolmogorov-Smirnov distance of `samples` to the law with distribution function `cdf`."""
    return float(stats.kstest(samples, cdf).statistic)


def occupancy(modes: np.ndarray, count: int, valid: np.ndarray | None = None) -> np.ndarray:
    """[count] the fraction of samples spent in each mode."""
    modes = np.asarray(modes)
    modes = modes[valid] if valid is not None else modes.ravel()
    modes = modes[modes >= 0]
    return np.bincount(modes, minlength=count)[:count] / max(modes.size, 1)
