"""Training suites: (agent, env, budget, seeds) runs, each (run, seed) trained through scripts/train.py into
`OUT/runs/`, summarised as final evaluation mean +- std over seeds, steps/s and wall time, plus any other metric
the runs' `eval.json` holds (e.g. a normalised score) as a column of its own.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scripts.benchmarks.report import SuiteResult

# Keys of eval.json that are the return itself or bookkeeping; any other number there is reported as a metric.
EVAL_BOOKKEEPING = ("mean_return", "std_return", "episodes", "step")


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
    eval_every: int | None = None  # None: only the final evaluation
    checkpoint_every: int | None = None  # None: only at the end

    @property
    def name(self) -> str:
        return self.label or f"{self.agent}@{self.env}"


def two_chunks(run: Run) -> Run:
    """The default --quick: every run shortened to two log chunks, evaluated only at its end."""
    return dataclasses.replace(run, total_steps=run.log_every * 2, eval_every=None, checkpoint_every=None)


@dataclass(frozen=True)
class TrainingSuite:
    """Runs to train; `quick` maps each run to its --quick form; `curves` is SuiteResult.curves; `describe` may
    write the text above the results table from the runs actually trained."""

    runs: tuple[Run, ...]
    quick: Callable[[Run], Run] = two_chunks
    curves: str = "by-metric"
    describe: Callable[[tuple[Run, ...]], str] | None = None

    def planned(self, quick: bool) -> tuple[Run, ...]:
        return tuple(self.quick(run) for run in self.runs) if quick else self.runs

    def run(self, out_dir: Path, quick: bool) -> SuiteResult:
        runs = self.planned(quick)
        rows, run_dirs = train_all(runs, Path(out_dir))
        result = SuiteResult(rows, run_dirs=run_dirs, curves=self.curves)
        if self.describe is not None:
            result.markdown = self.describe(runs) + "\n" + result.body
        return result


def train_argv(run: Run, seed: int, run_dir: Path) -> list[str]:
    total = run.total_steps
    return ["--agent", run.agent, "--env", run.env, "--total-steps", str(total), "--log-every", str(run.log_every),
            "--eval-every", str(run.eval_every or total), "--checkpoint-every", str(run.checkpoint_every or total),
            "--eval-episodes", str(run.eval_episodes), "--seed", str(seed), "--run-dir", str(run_dir),
            "--no-progress", *run.options]


def train_one(run: Run, seed: int, run_dir: Path) -> dict:
    from scripts import train

    start = time.perf_counter()
    summary = train.main(train_argv(run, seed, run_dir))
    wall = time.perf_counter() - start
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rates = [r["steps_per_second"] for r in records[1:] if "steps_per_second" in r]  # the first chunk compiles
    extras = {k: v for k, v in summary.items() if k not in EVAL_BOOKKEEPING and _is_number(v)}
    return {"final_return": summary["mean_return"], "steps_per_second": statistics.median(rates) if rates else
            math.nan, "wall_seconds": wall, "steps": run.total_steps, "metrics": extras}


def train_all(runs: tuple[Run, ...], out_dir: Path) -> tuple[list[dict], dict[str, list[Path]]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    jobs = [(run, seed) for run in runs for seed in run.seeds]
    per_run: dict[str, list[dict]] = {run.name: [] for run in runs}
    run_dirs: dict[str, list[Path]] = {run.name: [] for run in runs}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as progress:
        task = progress.add_task("benchmark", total=len(jobs))
        for run, seed in jobs:
            progress.update(task, description=f"{run.name} seed {seed}")
            run_dir = out_dir / "runs" / f"{slug(run.name)}__seed{seed}"
            result = train_one(run, seed, run_dir)
            per_run[run.name].append(result)
            run_dirs[run.name].append(run_dir)
            progress.console.print(f"{run.name} seed {seed}: return {result['final_return']:.1f}, "
                                   f"{result['steps_per_second']:.0f} steps/s, {result['wall_seconds']:.1f} s")
            progress.advance(task)
    rows = [summarize(run, per_run[run.name]) for run in runs]
    return rows, run_dirs


def summarize(run: Run, results: list[dict]) -> dict:
    returns = [r["final_return"] for r in results]
    row = {
        "run": run.name, "agent": run.agent, "env": run.env, "steps": results[0]["steps"], "seeds": len(results),
        "return": f"{statistics.mean(returns):.1f} +- {statistics.pstdev(returns):.1f}",
        "return_mean": statistics.mean(returns), "return_std": statistics.pstdev(returns),
    }
    for name in results[0]["metrics"]:
        values = [r["metrics"][name] for r in results if name in r["metrics"]]
        mean, std = statistics.mean(values), statistics.pstdev(values)
        row.update({name: f"{mean:.3g} +- {std:.2g}", f"{name}_mean": mean, f"{name}_std": std})
    row["steps_per_second"] = round(statistics.mean(r["steps_per_second"] for r in results))
    row["wall_seconds"] = round(statistics.mean(r["wall_seconds"] for r in results), 1)
    return row


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
