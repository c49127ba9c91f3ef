"""Run a named benchmark suite and write a report: `python scripts/benchmark.py SUITE [--out-dir DIR] [--quick]`.

A suite is plain data registered in `SUITES` (extend it with `register_suite`):
  - a tuple of `Run`s (agent, env, budget, seeds, agent options): each (run, seed) trains through
    scripts/train.py into `OUT/runs/`, and the report gets a results table (final evaluation mean +- std over
    seeds, steps/s, wall time) and the learning curves;
  - a function `(out_dir, quick) -> list[dict]` (or a "module:function" string naming one, imported lazily) for
    measurements that are not training runs (throughput, kernels); each dict is a row of the report's table. It
    may instead return `{"rows": [...], "markdown": "..."}`: its own report body (tables, plots it wrote).

The report directory holds `report.md`, `results.json` (the rows), `learning_curves.png` and the run dirs with
their raw per-run metrics (`metrics.jsonl`, `eval.json`, tensorboard events).
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

if __package__ in (None, ""):  # run as a file: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tyro

from scripts.cli_errors import one_line_errors


@dataclass(frozen=True)
class Run:
    """One (agent, env, budget) entry of a suite, trained once per seed."""

    agent: str
    env: str
    total_steps: int
    seeds: tuple[int, ...] = (0, 1, 2)
    options: tuple[str, ...] = ()  # agent flags exactly as on the train command line
    log_every: int = 5_000
    eval_episodes: int = 10
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or f"{self.agent}@{self.env}"


FunctionSuite = Callable[[Path, bool], list]
Suite = tuple[Run, ...] | FunctionSuite | str

PUREJAXRL_CARTPOLE = ("--num-envs", "4", "--num-steps", "128", "--update-epochs", "4", "--num-minibatches", "4",
                      "--lr", "2.5e-4", "--anneal-lr-steps", "512000")
PENDULUM_PPO = ("--num-envs", "16", "--num-steps", "256", "--lr", "1e-3", "--gamma", "0.9", "--update-epochs", "10",
                "--num-minibatches", "16", "--ent-coef", "0.0", "--value-clip-eps", "0.0", "--anneal-lr-steps",
                "204800")
TINY_PPO = ("--num-envs", "4", "--num-steps", "64", "--hidden", "16", "16", "--num-minibatches", "2")

SUITES: dict[str, Suite] = {
    "smoke": (
        Run("ppo", "jax:CartPole-v1", 1024, seeds=(0, 1), options=TINY_PPO, log_every=512, eval_episodes=2,
            label="ppo"),
        Run("ppo", "jax:CartPole-v1", 512, seeds=(0,), options=(*TINY_PPO, "--memory", "gru", "--memory-size", "8"),
            log_every=256, eval_episodes=2, label="ppo-gru"),
    ),
    "ppo": (
        Run("ppo", "jax:CartPole-v1", 512_000, options=PUREJAXRL_CARTPOLE, log_every=25_600, eval_episodes=20,
            label="ppo CartPole (PureJaxRL config)"),
        Run("ppo", "jax:CartPole-v1", 512_000, options=(*PUREJAXRL_CARTPOLE, "--memory", "gru"), log_every=25_600,
            eval_episodes=20, label="ppo-gru CartPole"),
        Run("ppo", "jax:Pendulum-v1", 204_800, options=PENDULUM_PPO, log_every=20_480, eval_episodes=20,
            label="ppo Pendulum"),
    ),
    "ppo-speed": "scripts.ppo_speed:run",
    "sac-speed": "scripts.sac_speed:run",
    "kernels": "scripts.kernel_benchmark:suite",
    "pomdp": "scripts.pomdp_benchmark:run",
    "pomdp-speed": "scripts.pomdp_benchmark:run_speed",
}


def register_suite(name: str, suite: Suite) -> None:
    """Add (or replace) a suite: a tuple of Runs, a function `(out_dir, quick) -> rows`, or "module:function"."""
    SUITES[name] = suite


def resolve(suite: Suite) -> tuple[Run, ...] | FunctionSuite:
    if isinstance(suite, str):
        module, function = suite.split(":")
        return getattr(importlib.import_module(module), function)
    return suite


# --- training suites --------------------------------------------------------------------------------------


def train_one(run: Run, seed: int, run_dir: Path, quick: bool) -> dict:
    from scripts import train

    total = run.log_every * 2 if quick else run.total_steps
    argv = ["--agent", run.agent, "--env", run.env, "--total-steps", str(total), "--log-every", str(run.log_every),
            "--eval-every", str(total), "--checkpoint-every", str(total), "--eval-episodes", str(run.eval_episodes),
            "--seed", str(seed), "--run-dir", str(run_dir), "--no-progress", *run.options]
    start = time.perf_counter()
    summary = train.main(argv)
    wall = time.perf_counter() - start
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rates = [r["steps_per_second"] for r in records[1:] if "steps_per_second" in r]  # the first chunk compiles
    return {"final_return": summary["mean_return"], "steps_per_second": statistics.median(rates) if rates else
            math.nan, "wall_seconds": wall, "steps": total}


def run_training_suite(runs: tuple[Run, ...], out_dir: Path, quick: bool) -> tuple[list[dict], dict]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    jobs = [(run, seed) for run in runs for seed in run.seeds]
    per_run: dict[str, list[dict]] = {run.name: [] for run in runs}
    run_dirs: dict[str, list[Path]] = {run.name: [] for run in runs}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as progress:
        task = progress.add_task("benchmark", total=len(jobs))
        for run, seed in jobs:
            progress.update(task, description=f"{run.name} seed {seed}")
            run_dir = out_dir / "runs" / f"{_slug(run.name)}__seed{seed}"
            result = train_one(run, seed, run_dir, quick)
            per_run[run.name].append(result)
            run_dirs[run.name].append(run_dir)
            progress.console.print(f"{run.name} seed {seed}: return {result['final_return']:.1f}, "
                                   f"{result['steps_per_second']:.0f} steps/s, {result['wall_seconds']:.1f} s")
            progress.advance(task)
    rows = [_summarize(run, per_run[run.name]) for run in runs]
    return rows, run_dirs


def _summarize(run: Run, results: list[dict]) -> dict:
    returns = [r["final_return"] for r in results]
    return {
        "run": run.name, "agent": run.agent, "env": run.env, "steps": results[0]["steps"], "seeds": len(results),
        "return": f"{statistics.mean(returns):.1f} +- {statistics.pstdev(returns):.1f}",
        "return_mean": statistics.mean(returns), "return_std": statistics.pstdev(returns),
        "steps_per_second": round(statistics.mean(r["steps_per_second"] for r in results)),
        "wall_seconds": round(statistics.mean(r["wall_seconds"] for r in results), 1),
    }


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


# --- the report -------------------------------------------------------------------------------------------

TABLE_COLUMNS = ("run", "env", "steps", "seeds", "return", "steps_per_second", "wall_seconds")


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return "(no results)\n"
    columns = [c for c in TABLE_COLUMNS if c in rows[0]] if "return" in rows[0] else list(rows[0])
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_report(name: str, out_dir: Path, rows: list[dict], run_dirs: dict, seconds: float,
                 markdown: str | None = None) -> Path:
    import jax

    (out_dir / "results.json").write_text(json.dumps(rows, indent=2))
    devices = ", ".join(str(d) for d in jax.devices())
    parts = [f"# Benchmark `{name}`\n",
             f"{time.strftime('%Y-%m-%d %H:%M')}, devices: {devices}, total {seconds:.0f} s\n",
             "Return: final deterministic evaluation, mean +- std over seeds. steps/s: median over logged chunks "
             "after the first (which includes compilation). Wall time: per run, including compilation.\n"
             if run_dirs else "", markdown if markdown is not None else markdown_table(rows)]
    if run_dirs:
        from core.plotting import plot_learning_curves

        plot_learning_curves(run_dirs, out_dir / "learning_curves.png")
        parts.append("\n![learning curves](learning_curves.png)\n")
        parts.append("\nRaw per-run metrics: `runs/*/metrics.jsonl`, `runs/*/eval.json`; all rows: `results.json`.\n")
    else:
        parts.append("\nAll rows: `results.json`.\n")
    report = out_dir / "report.md"
    report.write_text("\n".join(p for p in parts if p))
    return report


# What a report directory holds, and what --overwrite deletes.
REPORT_ENTRIES = ("report.md", "results.json", "learning_curves.png", "learning_curves.json", "runs")


def prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    """A fresh report directory: a report already there would be resumed (training runs skip finished run dirs)
    and its stale timings reported as this invocation's."""
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"--out-dir {out_dir} is a file, not a directory")
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


@dataclass(frozen=True)
class BenchmarkArgs:
    """Run a named benchmark suite and write a report directory. Every invocation measures afresh: an --out-dir
    that already holds a report is refused, since its runs would resume and their old timings pass as new."""

    suite: Annotated[str, tyro.conf.Positional] = "smoke"
    """Suite name: smoke, ppo, ppo-speed, sac-speed, kernels, pomdp, pomdp-speed (see SUITES)."""
    out_dir: str | None = None
    """Report directory, a new one per invocation; default reports/SUITE__TIME. One with a report is refused."""
    quick: bool = False
    """Shrink the suite (training runs: two log chunks each) for a fast look."""
    overwrite: bool = False
    """Delete the report already in --out-dir (report.md, results.json, its plot, runs/) and measure afresh."""


def main(argv: list[str] | None = None) -> Path:
    args = tyro.cli(BenchmarkArgs, args=sys.argv[1:] if argv is None else argv)
    if args.suite not in SUITES:
        close = difflib.get_close_matches(args.suite, SUITES, n=2)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise ValueError(f"unknown suite {args.suite!r}; {hint}available: {', '.join(sorted(SUITES))}")
    out_dir = Path(args.out_dir or f"reports/{args.suite}__{time.strftime('%Y%m%d-%H%M%S')}")
    prepare_out_dir(out_dir, args.overwrite)
    suite = resolve(SUITES[args.suite])
    start = time.perf_counter()
    markdown = None
    if callable(suite):
        result, run_dirs = suite(out_dir, args.quick), {}
        rows, markdown = (result["rows"], result["markdown"]) if isinstance(result, dict) else (list(result), None)
    else:
        rows, run_dirs = run_training_suite(suite, out_dir, args.quick)
    report = write_report(args.suite, out_dir, rows, run_dirs, time.perf_counter() - start, markdown)
    print(markdown if markdown is not None else markdown_table(rows))
    print(f"report: {report}")
    return report


def cli() -> None:
    with one_line_errors("benchmark"):
        main()


if __name__ == "__main__":
    cli()
