"""Rows of frames side by side as one PNG: how fitters show reconstructions and masked inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SCALE = 4  # nearest-neighbour upscaling, so 32-px frames stay legible in a viewer


def frame_rows(path: Path, rows: list[np.ndarray]) -> Path:
    """Write rows of frames (each `[N, S, S, 3]`, uint8 or floats in [0, 1]) as one grid PNG, 1 px apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [_as_uint8(r) for r in rows]
    count, size = rows[0].shape[0], rows[0].shape[1]
    grid = np.full((len(rows) * (size + 1) - 1, count * (size + 1) - 1, 3), 255, np.uint8)
    for r, frames in enumerate(rows):
        for c, frame in enumerate(frames):
            grid[r * (size + 1):r * (size + 1) + size, c * (size + 1):c * (size + 1) + size] = frame
    grid = np.repeat(np.repeat(grid, SCALE, axis=0), SCALE, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.imsave(path, grid)
    return path


def _as_uint8(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        return frames
    return (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)
