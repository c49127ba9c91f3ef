"""Learning-curve plots from run directories' `metrics.jsonl`, and trajectory pictures of evaluation rollouts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.backend_bases import FigureCanvasBase  # noqa: E402

from core.logging import read_metrics  # noqa: E402

# Keys of a metrics.jsonl record that are bookkeeping, not curves.
RECORD_KEYS = ("step", "time")


def curve(run_dir: Path, metric: str) -> dict[int, float]:
    """The finite values of `metric` by env step. A chunk where it is absent or NaN (no episode ended) is left out,
    so lines join over it instead of breaking."""
    points = {}
    for record in read_metrics(run_dir):
        if _finite(value := record.get(metric)):
            points[int(record["step"])] = float(value)
    return points


def metrics_with_values(run_dirs: list[Path]) -> set[str]:
    """Every metric that has at least one finite value in one of the runs."""
    found = set()
    for run_dir in run_dirs:
        for record in read_metrics(run_dir):
            found.update(k for k, v in record.items() if k not in RECORD_KEYS and _finite(v))
    return found


def pool(curves: list[dict[int, float]]) -> tuple[list[int], list[float], list[float], list[float]]:
    """Runs aligned by env step: at every step any run logged, the mean, min and max of the runs with a value there.

    Runs of different lengths keep their whole curves; where only the longer ones go on, only they count.
    """
    steps = sorted(set().union(*curves))
    values = [[c[s] for c in curves if s in c] for s in steps]
    mean = [sum(v) / len(v) for v in values]
    return steps, mean, [min(v) for v in values], [max(v) for v in values]


def image_formats() -> list[str]:
    """File extensions matplotlib can save to."""
    return sorted(FigureCanvasBase.get_supported_filetypes())


def plot_learning_curves(
    runs: dict[str, list[Path]], out_path: Path, metrics: tuple[str, ...] = ("eval_return", "episode_return")
) -> Path:
    """One panel per metric; each label's runs are drawn as a mean line with a min-max band."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for label, dirs in runs.items():
            _draw_group(ax, label, [curve(d, metric) for d in dirs])
        ax.set_xlabel("env steps")
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return _save(fig, out_path)


def plot_trajectories(coords, alive, colours, out_path: Path, title: str = "",
                      dims: Sequence[int] = (0, 1)) -> Path:
    """Rollouts `coords [T + 1, B, k]` (k = 1 or 2 coordinates, observation entries `dims`), one line per rollout
    in its colour `colours [B, 3]` with a dot at its end; rows where `alive [T + 1, B]` is False are left out.
    Two coordinates are drawn in their plane, one against the step."""
    coords, alive = np.asarray(coords), np.asarray(alive, bool)
    fig, ax = plt.subplots(figsize=(5.5, 5.0 if coords.shape[-1] >= 2 else 3.5))
    for b in range(coords.shape[1]):
        rows = coords[alive[:, b], b]
        x, y = (rows[:, 0], rows[:, 1]) if coords.shape[-1] >= 2 else (np.arange(len(rows)), rows[:, 0])
        ax.plot(x, y, color=colours[b], linewidth=1.0, alpha=0.9)
        ax.plot(x[-1:], y[-1:], "o", color=colours[b], markersize=3)
    if coords.shape[-1] >= 2:
        ax.set_xlabel(f"obs[{dims[0]}]")
        ax.set_ylabel(f"obs[{dims[1]}]")
        ax.set_aspect("equal", adjustable="datalim")
    else:
        ax.set_xlabel("step")
        ax.set_ylabel(f"obs[{dims[0]}]")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    return _save(fig, out_path)


def _save(fig, out_path) -> Path:
    """Write `fig` as a PNG at `out_path` (its folder made if missing), close it, and return the path."""
    fig.tight_layout()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path


def _draw_group(ax, label: str, curves: list[dict[int, float]]) -> None:
    curves = [c for c in curves if c]
    if not curves:
        return
    steps, mean, low, high = pool(curves)
    (line,) = ax.plot(steps, mean, label=label, marker="o", markersize=3)
    if len(curves) > 1:
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
