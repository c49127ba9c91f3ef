"""Redraw learning curves from run directories: `python scripts/plot.py RUN_DIR... [--out curves.png]`.

Runs with the same hyperparameters in their `config.json` (seeds and bookkeeping such as the budget, log and
eval intervals aside) are pooled into one curve: aligned by env step, the mean over the runs that logged a value
at that step, with a min-max band. A curve is labelled by agent, memory and env, plus every option whose value
differs between the curves. `--group-by dir` draws one curve per directory instead. A directory that holds run
dirs (such as a benchmark report's `runs/`) stands for all of them.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

if __package__ in (None, ""):  # run as a file: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tyro

from scripts.cli_errors import one_line_errors

DEFAULT_METRICS = ("eval_return", "episode_return")
DEFAULT_NAME = "learning_curves.png"
# Run options that do not change what is learned: runs differing only in these are seeds of one curve.
NOT_HYPERPARAMETERS = {"seed", "run_dir", "stop_after", "progress", "total_steps", "log_every", "eval_every",
                       "eval_episodes", "checkpoint_every"}
NAMED_IN_BASE = {"agent", "env", "memory"}


@dataclass(frozen=True)
class PlotArgs:
    """Plot learning curves of run directories."""

    run_dirs: Annotated[tuple[str, ...], tyro.conf.Positional] = ()
    """Run directories (each with metrics.jsonl), or folders of them."""
    out: str | None = None
    """Output image (.png, .pdf, .svg; no extension: .png); an existing directory gets DIR/learning_curves.png.
    Default: learning_curves.png inside the run given, or in the closest folder that holds all the runs given."""
    group_by: Literal["config", "dir"] = "config"
    """One curve per set of hyperparameters (seeds pooled), or one per directory."""
    metrics: tuple[str, ...] | None = None
    """Metrics from metrics.jsonl, one panel each; default: eval_return and episode_return, those the runs have."""


def find_runs(paths: tuple[str, ...]) -> list[Path]:
    if not paths:
        raise ValueError("no run directories given; usage: plot.py RUN_DIR... (see --help)")
    runs = []
    for path in map(Path, paths):
        if (path / "metrics.jsonl").is_file():
            found = [path]
        elif path.is_dir() and (found := sorted(p.parent for p in path.glob("*/metrics.jsonl"))):
            pass
        elif not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        else:
            raise FileNotFoundError(f"{path} is neither a run directory (no metrics.jsonl) nor a folder of them")
        runs.extend(r for r in found if r not in runs)
    return runs


def read_config(run_dir: Path) -> dict | None:
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        return None
    try:
        config = json.loads(config_path.read_text())
        return {"run": dict(config["run"]), "agent": dict(config.get("agent", {}))}
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{config_path} is not a valid run config ({error})") from None


def hyperparameters(config: dict) -> dict:
    run = {k: v for k, v in config["run"].items() if k not in NOT_HYPERPARAMETERS}
    return {"run": run, "agent": config["agent"]}


def group_by_config(runs: list[Path]) -> dict[str, list[Path]]:
    """Pool runs with equal hyperparameters; label each pool by what tells it apart from the others."""
    pools: dict[str, list[Path]] = {}
    configs: dict[str, dict] = {}
    for run_dir in runs:
        config = read_config(run_dir)
        if config is None:  # nothing to pool by: a curve of its own, named by its directory
            pools[str(run_dir)] = [run_dir]
            continue
        key = json.dumps(hyperparameters(config), sort_keys=True)
        configs.setdefault(key, hyperparameters(config))
        pools.setdefault(key, []).append(run_dir)
    others = list(configs.values())
    return {_label(configs[key], others) if key in configs else key: dirs for key, dirs in pools.items()}


def _label(config: dict, configs: list[dict]) -> str:
    run, agent = config["run"], config["agent"]
    memory = agent.get("memory", "none")
    name = run["agent"] if memory in (None, "none") else f"{run['agent']}-{memory}"
    same_agent = [c for c in configs if c["run"]["agent"] == run["agent"]]
    extras = [_option(k, v) for k, v in run.items() if _differs(k, "run", configs)]
    extras += [_option(k, v) for k, v in agent.items() if _differs(k, "agent", same_agent)]
    return " ".join([name, str(run["env"]), *extras])


def _differs(key: str, section: str, configs: list[dict]) -> bool:
    if key in NAMED_IN_BASE:
        return False
    values = {json.dumps(c[section].get(key, "<absent>"), sort_keys=True) for c in configs}
    return len(values) > 1


def _option(key: str, value) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return f"{key}={shown}"


def choose_metrics(requested: tuple[str, ...] | None, runs: list[Path]) -> tuple[str, ...]:
    from core.plotting import metrics_with_values

    present = metrics_with_values(runs)
    listing = ", ".join(sorted(present)) or "none"
    if requested is None:
        chosen = tuple(m for m in DEFAULT_METRICS if m in present)
        if not chosen:
            raise ValueError(f"no run given has {' or '.join(DEFAULT_METRICS)}; metrics they have: {listing}")
        return chosen
    if not requested:
        raise ValueError(f"--metrics needs at least one name; metrics the runs have: {listing}")
    for metric in requested:
        if metric not in present:
            raise ValueError(f"no run given has a value of metric {metric!r}; metrics they have: {listing}")
    return requested


def output_path(out: str | None, runs: list[Path]) -> Path:
    from core.plotting import image_formats

    if out is None:
        return _default_folder(runs) / DEFAULT_NAME
    path = Path(out)
    if path.is_dir() or out.endswith(("/", os.sep)):
        return path / DEFAULT_NAME
    if path.exists() and not path.is_file():
        raise ValueError(f"--out {out} exists and is not a file")
    if not path.suffix:
        return path.with_suffix(".png")
    if path.suffix[1:].lower() not in image_formats():
        raise ValueError(f"--out {out}: unknown image format {path.suffix}; use one of {', '.join(image_formats())}")
    return path


def _default_folder(runs: list[Path]) -> Path:
    if len(runs) == 1:
        return runs[0]
    common = Path(os.path.commonpath([os.path.abspath(r) for r in runs]))
    if common == Path(common.anchor):
        raise ValueError("the runs given share no folder to write the plot into; say where with --out")
    return Path(os.path.relpath(common)) if common.is_relative_to(Path.cwd()) else common


def main(argv: list[str] | None = None) -> Path:
    from core.plotting import plot_learning_curves

    args = tyro.cli(PlotArgs, args=sys.argv[1:] if argv is None else argv)
    runs = find_runs(args.run_dirs)
    metrics = choose_metrics(args.metrics, runs)
    out = output_path(args.out, runs)
    groups = {str(r): [r] for r in runs} if args.group_by == "dir" else group_by_config(runs)
    out = plot_learning_curves(groups, out, metrics)
    print(f"{len(groups)} curve(s) from {len(runs)} run(s): {out}")
    return out


def cli() -> None:
    with one_line_errors("plot"):
        main()


if __name__ == "__main__":
    cli()
