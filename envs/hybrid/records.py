"""Trajectories of a hybrid system as arrays, their `.npz` file format, and the checks that refuse bad data.

A data set holds N trajectories of T samples of an n-dimensional state:

    t[N, T]          sample times, increasing along each trajectory
    x[N, T, n]       states
    mode[N, T]       optional: the true mode at each sample (used only for the metrics)
    boundary[N, T]   optional: True at the first sample of each segment (the stretch between two events);
                     without it the fitting script detects the segments from jumps in x
    mask[N, T]       optional: True on real samples, for trajectories of different lengths padded to one T
                     (padding only after the last real sample)
    u[N, T, k]       optional: a control input, held constant from each sample to the next

A generator also returns `events`: the exact event times and states, which the metrics compare against.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np


class HybridDataError(ValueError):
    """A data set that cannot be fitted (ragged, NaN, mismatched shapes); the message is one line."""


@dataclass(frozen=True)
class EventLog:
    """The true events of each trajectory, padded to K events: row k of trajectory i is its k-th event."""

    time: np.ndarray  # [N, K] event times
    source: np.ndarray  # [N, K] mode before the event
    target: np.ndarray  # [N, K] mode after it
    x_minus: np.ndarray  # [N, K, n] state just before the jump
    x_plus: np.ndarray  # [N, K, n] state just after it
    valid: np.ndarray  # [N, K] True on real events

    def sojourns(self, t_start: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """Uncensored sojourn times by transition `(mode, next mode)`: the time from entering a mode to leaving
        it; the stretch before the first event (entered at `t_start[N]`) counts, the one cut by the horizon not."""
        out: dict[tuple[int, int], list[float]] = {}
        for i in range(self.time.shape[0]):
            entered = float(t_start[i])
            for k in np.flatnonzero(self.valid[i]):
                pair = (int(self.source[i, k]), int(self.target[i, k]))
                out.setdefault(pair, []).append(float(self.time[i, k]) - entered)
                entered = float(self.time[i, k])
        return {pair: np.asarray(times) for pair, times in out.items()}


@dataclass(frozen=True)
class Trajectories:
    t: np.ndarray
    x: np.ndarray
    mode: np.ndarray | None = None
    boundary: np.ndarray | None = None
    mask: np.ndarray | None = None
    u: np.ndarray | None = None
    events: EventLog | None = None

    @property
    def valid(self) -> np.ndarray:
        """[N, T] True on real samples."""
        return np.ones(self.t.shape, bool) if self.mask is None else self.mask

    def take(self, index) -> Trajectories:
        """The trajectories at `index` (an integer array or slice), events included."""
        pick = lambda a: None if a is None else a[index]
        events = None if self.events is None else EventLog(*(a[index] for a in (
            self.events.time, self.events.source, self.events.target, self.events.x_minus, self.events.x_plus,
            self.events.valid)))
        return replace(self, t=self.t[index], x=self.x[index], mode=pick(self.mode), boundary=pick(self.boundary),
                       mask=pick(self.mask), u=pick(self.u), events=events)

    def save(self, path: Path) -> None:
        arrays = {"t": self.t, "x": self.x}
        for name in ("mode", "boundary", "mask", "u"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        np.savez(path, **arrays)


def load_npz(path: str | Path) -> Trajectories:
    """Read and check a user's `.npz` (the module docstring gives its keys); bad data is a `HybridDataError`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no data file {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise HybridDataError(f"{path}: ragged or object arrays; pad trajectories to one length T and give "
                                  f"mask[N, T] (True on real samples)") from None
        raise HybridDataError(f"{path}: not a readable .npz file ({str(error).splitlines()[0]})") from None
    except (OSError, EOFError) as error:
        raise HybridDataError(f"{path}: not a readable .npz file ({error})") from None
    return check_arrays(arrays, str(path))


def check_arrays(arrays: dict, name: str = "data") -> Trajectories:
    """`Trajectories` from a dict of arrays, refusing anything the fitting cannot use, in one line."""
    unknown = sorted(set(arrays) - {"t", "x", "mode", "boundary", "mask", "u"})
    if unknown:
        raise HybridDataError(f"{name}: unknown keys {unknown}; expected t, x and optionally mode, boundary, mask, u")
    for key in ("t", "x"):
        if key not in arrays:
            raise HybridDataError(f"{name}: missing {key!r} (t[N, T] and x[N, T, n] are required)")
    t, x = np.asarray(arrays["t"]), np.asarray(arrays["x"])
    if t.dtype == object or x.dtype == object:
        raise HybridDataError(f"{name}: ragged arrays; pad trajectories to one length T and give mask[N, T]")
    if x.ndim == 2:
        x = x[..., None]
    if t.ndim != 2 or x.ndim != 3:
        raise HybridDataError(f"{name}: expected t[N, T] and x[N, T, n], got t{list(t.shape)} and x{list(x.shape)}")
    if x.shape[:2] != t.shape:
        raise HybridDataError(f"{name}: mismatched lengths: t{list(t.shape)} but x{list(x.shape)}")
    if t.shape[1] < 2:
        raise HybridDataError(f"{name}: trajectories need at least 2 samples, got T = {t.shape[1]}")
    optional = {}
    for key, dims in (("mode", 2), ("boundary", 2), ("mask", 2), ("u", 3)):
        if key in arrays:
            a = np.asarray(arrays[key])
            if key == "u" and a.ndim == 2:
                a = a[..., None]
            if a.ndim != dims or a.shape[:2] != t.shape:
                raise HybridDataError(f"{name}: mismatched lengths: {key}{list(a.shape)} for t{list(t.shape)}")
            optional[key] = a
    mask = optional.get("mask")
    if mask is not None:
        mask = mask.astype(bool)
        if not mask[:, 0].all() or (np.diff(mask.astype(int), axis=1) > 0).any():
            raise HybridDataError(f"{name}: mask must be True from the first sample on, then False (padding last)")
    valid = np.ones(t.shape, bool) if mask is None else mask
    for key, a in (("t", t), ("x", x), ("u", optional.get("u"))):
        if a is not None and not np.isfinite(a[valid]).all():
            raise HybridDataError(f"{name}: {key} holds NaN or infinite values at real samples")
    steps = np.diff(t, axis=1)[valid[:, 1:]]
    if (steps <= 0).any():
        raise HybridDataError(f"{name}: times t must increase strictly along each trajectory")
    mode = optional.get("mode")
    if mode is not None and (mode[valid] < 0).any():
        raise HybridDataError(f"{name}: mode must hold non-negative integers")
    boundary = optional.get("boundary")
    return Trajectories(t.astype(np.float64), x.astype(np.float64),
                        None if mode is None else mode.astype(np.int64),
                        None if boundary is None else boundary.astype(bool), mask,
                        None if optional.get("u") is None else optional["u"].astype(np.float64))


def boundaries_from_modes(mode: np.ndarray, jumped: np.ndarray | None = None) -> np.ndarray:
    """[N, T] True at sample 0 and wherever the mode changes (or an event happened since the last sample)."""
    boundary = np.zeros(mode.shape, bool)
    boundary[:, 0] = True
    boundary[:, 1:] = mode[:, 1:] != mode[:, :-1]
    if jumped is not None:
        boundary |= jumped
    return boundary


def pad_events(per_trajectory: list[list[tuple]], n: int) -> EventLog:
    """An `EventLog` from per-trajectory lists of `(time, source, target, x_minus, x_plus)`."""
    count, width = len(per_trajectory), max(1, max((len(e) for e in per_trajectory), default=0))
    time, source, target = np.zeros((count, width)), np.zeros((count, width), int), np.zeros((count, width), int)
    x_minus, x_plus, valid = np.zeros((count, width, n)), np.zeros((count, width, n)), np.zeros((count, width), bool)
    for i, events in enumerate(per_trajectory):
        for k, (when, a, b, before, after) in enumerate(events):
            time[i, k], source[i, k], target[i, k] = when, a, b
            x_minus[i, k], x_plus[i, k], valid[i, k] = before, after, True
    return EventLog(time, source, target, x_minus, x_plus, valid)
