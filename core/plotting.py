"""Learning-curve plots from run directories' `metrics.jsonl`."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from core.logging import read_metrics  # noqa: E402


def curve(run_dir: Path, metric: str) -> tuple[list[int], list[float]]:
    points = [(r["step"], r[metric]) for r in read_metrics(run_dir) if metric in r and math.isfinite(r[metric])]
    return [p[0] for p in points], [p[1] for p in points]


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
    fig.tight_layout()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path


def _draw_group(ax, label: str, curves: list[tuple[list[int], list[float]]]) -> None:
    curves = [c for c in curves if c[0]]
    if not curves:
        return
    length = min(len(c[0]) for c in curves)
    steps = curves[0][0][:length]
    values = [c[1][:length] for c in curves]
    mean = [sum(v[i] for v in values) / len(values) for i in range(length)]
    (line,) = ax.plot(steps, mean, label=label, marker="o", markersize=3)
    if len(values) > 1:
        low = [min(v[i] for v in values) for i in range(length)]
        high = [max(v[i] for v in values) for i in range(length)]
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)
