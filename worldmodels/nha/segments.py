"""Cutting trajectories into segments (the stretches between events), padded to one length with a mask, so that
all segments are solved and scored in parallel; and a detector for data that come without boundaries."""

from __future__ import annotations

import numpy as np
from flax import struct


@struct.dataclass
class Segments:
    """S segments padded to L samples. Padding repeats the last real sample with zero time steps, and `mask` is
    False there, so padded steps neither move the state nor enter a loss."""

    z: np.ndarray  # [S, L, n] normalised states
    t: np.ndarray  # [S, L] times
    mask: np.ndarray  # [S, L] True on real samples
    u: np.ndarray  # [S, L, k] controls (k = 0 without)
    trajectory: np.ndarray  # [S] index of the trajectory the segment belongs to
    censored: np.ndarray  # [S] True for the last segment of a trajectory (its end is the horizon, not an event)
    mode: np.ndarray  # [S] true mode at the segment's first sample, -1 where unknown

    @property
    def dt(self) -> np.ndarray:
        """[S, L - 1] time steps, zero on padding."""
        return np.diff(self.t, axis=1) * self.mask[:, 1:]

    @property
    def count(self) -> int:
        return self.z.shape[0]


@struct.dataclass
class Normaliser:
    """Per-dimension shift and scale sigma_d: the models work in (x - mean) / std."""

    mean: np.ndarray
    std: np.ndarray

    @staticmethod
    def fit(x: np.ndarray, valid: np.ndarray) -> Normaliser:
        real = x[valid]
        std = real.std(0)
        return Normaliser(real.mean(0), np.where(std > 1e-8, std, 1.0))

    def __call__(self, x):
        return (x - self.mean) / self.std

    def invert(self, z):
        return z * self.std + self.mean


def split_segments(t: np.ndarray, x: np.ndarray, boundary: np.ndarray, normaliser: Normaliser,
                   valid: np.ndarray | None = None, u: np.ndarray | None = None, mode: np.ndarray | None = None,
                   min_length: int = 2) -> Segments:
    """Segments of `t[N, T]`, `x[N, T, n]` cut at `boundary[N, T]` (True at each segment's first sample).

    Segments shorter than `min_length` samples carry no flow information (one sample has no step); they are
    still cut out but dropped here, and the event records see them through the gaps they leave."""
    valid = np.ones(t.shape, bool) if valid is None else valid
    u = np.zeros((*t.shape, 0)) if u is None else u
    pieces = []
    for i in range(t.shape[0]):
        end = int(valid[i].sum())
        starts = np.flatnonzero(boundary[i, :end])
        starts = np.union1d([0], starts)
        stops = np.append(starts[1:], end)
        for k, (a, b) in enumerate(zip(starts, stops)):
            if b - a >= min_length:
                pieces.append((i, a, b, k == len(starts) - 1))
    if not pieces:
        raise ValueError("no segment has two or more samples; check boundary (too many boundaries?)")
    length = max(b - a for _, a, b, _ in pieces)
    count, n, k = len(pieces), x.shape[-1], u.shape[-1]
    z, times, mask = np.zeros((count, length, n)), np.zeros((count, length)), np.zeros((count, length), bool)
    uu = np.zeros((count, length, k))
    traj, censored, true_mode = np.zeros(count, int), np.zeros(count, bool), np.full(count, -1)
    for s, (i, a, b, last) in enumerate(pieces):
        m = b - a
        z[s, :m], z[s, m:] = normaliser(x[i, a:b]), normaliser(x[i, b - 1])
        times[s, :m], times[s, m:] = t[i, a:b], t[i, b - 1]
        uu[s, :m], uu[s, m:] = u[i, a:b], u[i, b - 1]
        mask[s, :m] = True
        traj[s], censored[s] = i, last
        if mode is not None:
            true_mode[s] = mode[i, a]
    return Segments(z, times, mask, uu, traj, censored, true_mode)


def detect_boundaries(x: np.ndarray, valid: np.ndarray | None = None, kappa: float = 10.0,
                      relative: float | None = 0.4) -> np.ndarray:
    """[N, T] boundaries where some coordinate jumps: its step exceeds `kappa` times that coordinate's median
    step, and (when `relative` is given) also `relative` times its own magnitude, which keeps fast exponential
    growth from being taken for jumps."""
    valid = np.ones(x.shape[:2], bool) if valid is None else valid
    step = np.abs(np.diff(x, axis=1))  # [N, T-1, n]
    real = valid[:, 1:]
    median = np.median(step[real], axis=0)
    scale = np.where(median > 0, median, np.max(step[real], axis=0) * 1e-3 + 1e-12)
    big = step > kappa * scale
    if relative is not None:
        big &= step > relative * np.abs(x[:, :-1])
    boundary = np.zeros(x.shape[:2], bool)
    boundary[:, 0] = True
    boundary[:, 1:] = big.any(-1) & real
    return boundary


def encoder_inputs(segments: Segments, samples: int) -> np.ndarray:
    """[S, samples * n]: each segment's first `samples` states, flattened (short segments repeat their last)."""
    first = segments.z[:, :samples]
    if first.shape[1] < samples:
        first = np.concatenate([first, np.repeat(first[:, -1:], samples - first.shape[1], 1)], 1)
    return first.reshape(first.shape[0], -1)


def windows(segments: Segments, length: int) -> Segments:
    """Long segments cut into windows of at most `length` samples, each starting where the last one ended.

    Flows are autonomous within a mode, so a window is itself a segment of that mode; training on windows wastes
    far less compute on padding (one long "off" segment otherwise pads every segment to its length) and keeps
    each reconstruction short. Windows keep their segment's trajectory, censoring flag and true mode."""
    lengths = segments.mask.sum(1)
    pieces = [(s, a, min(a + length, n)) for s, n in enumerate(lengths)
              for a in range(0, max(n - 1, 1), length - 1)]
    size = max(b - a for _, a, b in pieces)
    take = lambda arr, s, a, b: np.concatenate([arr[s, a:b], np.repeat(arr[s, b - 1:b], size - (b - a), 0)])
    z = np.stack([take(segments.z, s, a, b) for s, a, b in pieces])
    t = np.stack([take(segments.t, s, a, b) for s, a, b in pieces])
    u = np.stack([take(segments.u, s, a, b) for s, a, b in pieces])
    mask = np.stack([np.arange(size) < b - a for _, a, b in pieces])
    index = np.asarray([s for s, _, _ in pieces])
    return Segments(z, t, mask, u, segments.trajectory[index], segments.censored[index], segments.mode[index])
