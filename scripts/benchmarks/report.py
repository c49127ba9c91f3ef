"""A suite's report directory: `report.md`, `results.json` (the rows), the learning curves of training suites and
`runs/` with their run dirs; markdown tables; the fresh-directory check.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

# What a report directory holds, and what --overwrite deletes.
REPORT_ENTRIES = ("report.md", "results.json", "learning_curves.png", "learning_curves.json", "runs")

# Columns of a training suite's results table, in order; the columns of extra evaluation metrics follow "return".
TRAINING_COLUMNS = ("run", "env", "steps", "seeds", "return", "steps_per_second", "wall_seconds")

TRAINING_NOTE = ("Return: final deterministic evaluation, mean +- std over seeds. steps/s: median over logged chunks "
                 "after the first (which includes compilation). Wall time: per run, including compilation.\n")


@dataclass
class SuiteResult:
    """What a suite's `run` returns: its rows, optionally its own report body, and the run dirs it trained.

    `curves` says how the run dirs' learning curves are drawn: "by-metric" (one panel per metric, one line per
    run) or "by-run" (one panel per run, its evaluation and training returns).
    """

    rows: list[dict]
    markdown: str | None = None
    run_dirs: dict[str, list[Path]] = field(default_factory=dict)
    curves: str = "by-metric"

    @property
    def body(self) -> str:
        return self.markdown if self.markdown is not None else markdown_table(self.rows)


def as_result(value) -> SuiteResult:
    """A suite function may return a SuiteResult, a list of rows or `{"rows": [...], "markdown": "..."}`."""
    if isinstance(value, SuiteResult):
        return value
    if isinstance(value, dict):
        return SuiteResult(list(value["rows"]), value.get("markdown"))
    return SuiteResult(list(value))


def markdown_table(rows: list[dict]) -> str:
    """Training rows get their fixed columns (and extra metrics); any other rows show every column of the first."""
    if not rows:
        return "(no results)\n"
    columns = training_columns(rows[0]) if "return" in rows[0] else list(rows[0])
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def training_columns(row: dict) -> list[str]:
    """TRAINING_COLUMNS present in `row`, with every other "mean +- std" metric (one with a `_mean`) after return."""
    extras = [key for key in row if f"{key}_mean" in row and key not in TRAINING_COLUMNS]
    columns = []
    for column in TRAINING_COLUMNS:
        if column in row:
            columns.append(column)
        if column == "return":
            columns += extras
    return columns


def write_report(name: str, out_dir: Path, result: SuiteResult, seconds: float) -> Path:
    import jax

    (out_dir / "results.json").write_text(json.dumps(result.rows, indent=2))
    devices = ", ".join(str(d) for d in jax.devices())
    parts = [f"# Benchmark `{name}`\n",
             f"{time.strftime('%Y-%m-%d %H:%M')}, devices: {devices}, total {seconds:.0f} s\n",
             TRAINING_NOTE if result.run_dirs else "", result.body]
    if result.run_dirs:
        draw_training_curves(result, out_dir / "learning_curves.png")
        parts.append("\n![learning curves](learning_curves.png)\n")
        parts.append("\nRaw per-run metrics: `runs/*/metrics.jsonl`, `runs/*/eval.json`; all rows: `results.json`.\n")
    else:
        parts.append("\nAll rows: `results.json`.\n")
    report = out_dir / "report.md"
    report.write_text("\n".join(p for p in parts if p))
    return report


def draw_training_curves(result: SuiteResult, path: Path) -> Path:
    from core.plotting import plot_learning_curves

    if result.curves == "by-run":
        return plot_per_run(result.run_dirs, path)
    return plot_learning_curves(result.run_dirs, path)


def plot_per_run(run_dirs: dict[str, list[Path]], path: Path) -> Path:
    """One panel per run (e.g. per env), so envs with returns of different scales each get their own axis: the
    evaluation return and the training episode return against env steps, mean over seeds with a min-max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from core.plotting import curve

    columns = min(len(run_dirs), 4)
    rows = -(-len(run_dirs) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.6 * rows), squeeze=False)
    for ax, (label, dirs) in zip(axes.flat, run_dirs.items()):
        for metric, name, style in (("eval_return", "evaluation", "-"), ("episode_return", "training", ":")):
            _draw_pooled(ax, [curve(d, metric) for d in dirs], name, style)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(run_dirs):]:
        ax.set_visible(False)
    axes[0][0].set_ylabel("episode return")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _draw_pooled(ax, curves: list[dict[int, float]], label: str, style: str) -> None:
    from core.plotting import pool

    curves = [c for c in curves if c]
    if not curves:
        return
    steps, mean, low, high = pool(curves)
    seeds = f" ({len(curves)} seeds)" if len(curves) > 1 else ""
    (line,) = ax.plot(steps, mean, style, label=label + seeds, marker="o" if style == "-" else None, markersize=3)
    if len(curves) > 1:
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.15)


def prepare_out_dir(out_dir: Path, overwrite: bool, resume: bool = False) -> None:
    """A fresh report directory: a report already there would be resumed (training runs skip finished run dirs)
    and its stale timings reported as this invocation's, unless `resume` asks for exactly that."""
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"--out-dir {out_dir} is a file, not a directory")
    if resume:
        out_dir.mkdir(parents=True, exist_ok=True)
        return
    earlier = [name for name in REPORT_ENTRIES if (out_dir / name).exists()]
    if earlier and not overwrite:
        raise ValueError(f"--out-dir {out_dir} already holds a report ({', '.join(earlier)}); choose a new "
                         "directory, or pass --overwrite to delete it and measure again")
    for name in earlier:
        entry = out_dir / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
