"""The data a model is fitted to: `hybrid:NAME` (a generator of the `hybrid:` family, with fresh test
trajectories) or a user's `.npz` (t, x and optionally mode, boundary, mask, u; see envs/hybrid/records.py), split
into training and test trajectories and cut into segments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.hybrid.records import HybridDataError, Trajectories, load_npz
from worldmodels.nha.segments import Normaliser, Segments, detect_boundaries, split_segments

PREFIX = "hybrid:"


@dataclass(frozen=True)
class FitData:
    train: Trajectories
    test: Trajectories
    train_segments: Segments
    test_segments: Segments
    normaliser: Normaliser
    generator: Any | None  # the generating system, for `hybrid:` data (simulation metrics and guards)
    detected: bool  # True when the boundaries came from the jump detector


def load_data(data: str, seed: int, train_count: int, test_count: int, test_fraction: float) -> FitData:
    """Load or generate, check, split and segment; bad data raises `HybridDataError` before anything is written."""
    if data.startswith(PREFIX):
        from envs.hybrid.family import make_generator

        generator = make_generator(data[len(PREFIX):])
        train, test = generator.generate(train_count, seed), generator.generate(test_count, seed + 10_000)
    else:
        generator = None
        train, test = split(load_npz(data), seed, test_fraction)
    return segment(train, test, generator)


def split(data: Trajectories, seed: int, test_fraction: float) -> tuple[Trajectories, Trajectories]:
    count = data.t.shape[0]
    if count < 2:
        raise HybridDataError(f"need at least 2 trajectories (one to train on, one to test), got {count}")
    order = np.random.default_rng(seed).permutation(count)
    tests = min(max(1, round(test_fraction * count)), count - 1)
    return data.take(np.sort(order[tests:])), data.take(np.sort(order[:tests]))


def segment(train: Trajectories, test: Trajectories, generator=None) -> FitData:
    detected = train.boundary is None
    boundary = lambda d: detect_boundaries(d.x, d.valid) if d.boundary is None else d.boundary
    normaliser = Normaliser.fit(train.x, train.valid)
    cut = lambda d: split_segments(d.t, d.x, boundary(d), normaliser, d.valid, d.u, d.mode)
    return FitData(train, test, cut(train), cut(test), normaliser, generator, detected)
