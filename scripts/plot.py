"""Redraw learning curves from run directories: `python scripts/plot.py RUN_DIR... [--out curves.png]`.

Runs are grouped into one curve (mean line, min-max band over its runs) by agent, memory and env read from each
run's `config.json`, or one curve per directory with `--group-by dir`. A directory that holds run dirs (such as
a benchmark report's `runs/`) stands for all of them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

if __package__ in (None, ""):  # run as a file: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tyro

from scripts.cli_errors import one_line_errors


@dataclass(frozen=True)
class PlotArgs:
    """Plot learning curves of run directories."""

    run_dirs: Annotated[tuple[str, ...], tyro.conf.Positional]
    """Run directories (each with metrics.jsonl), or folders of them."""
    out: str = "learning_curves.png"
    """Output image."""
    group_by: Literal["config", "dir"] = "config"
    """One curve per agent/memory/env (seeds pooled), or one per directory."""
    metrics: tuple[str, ...] = ("eval_return", "episode_return")
    """Metrics from metrics.jsonl, one panel each."""


def find_runs(paths: tuple[str, ...]) -> list[Path]:
    runs = []
    for path in map(Path, paths):
        if (path / "metrics.jsonl").is_file():
            runs.append(path)
        elif path.is_dir() and (found := sorted(p.parent for p in path.glob("*/metrics.jsonl"))):
            runs.extend(found)
        else:
            raise FileNotFoundError(f"{path} is neither a run directory (no metrics.jsonl) nor a folder of them")
    return runs


def group_label(run_dir: Path) -> str:
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        return run_dir.name
    config = json.loads(config_path.read_text())
    agent, memory = config["run"]["agent"], config.get("agent", {}).get("memory", "none")
    name = agent if memory in (None, "none") else f"{agent}-{memory}"
    return f"{name} {config['run']['env']}"


def main(argv: list[str] | None = None) -> Path:
    from core.plotting import plot_learning_curves

    args = tyro.cli(PlotArgs, args=sys.argv[1:] if argv is None else argv)
    groups: dict[str, list[Path]] = {}
    for run_dir in find_runs(args.run_dirs):
        label = str(run_dir) if args.group_by == "dir" else group_label(run_dir)
        groups.setdefault(label, []).append(run_dir)
    out = plot_learning_curves(groups, Path(args.out), tuple(args.metrics))
    print(f"{len(groups)} curve(s) from {sum(map(len, groups.values()))} run(s): {out}")
    return out


def cli() -> None:
    with one_line_errors("plot"):
        main()


if __name__ == "__main__":
    cli()
