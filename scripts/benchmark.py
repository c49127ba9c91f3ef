"""Run a named benchmark suite and write a report: `python scripts/benchmark.py SUITE [--out-dir DIR] [--quick]`.

The suites live in `scripts/benchmarks/`, one module each, registered by name in `scripts/benchmarks/__init__.py`
and imported only when asked for. Training suites (smoke, ppo, mujoco) train each (run, seed) through
scripts/train.py into `OUT/runs/` and report the final evaluation mean +- std over seeds, steps/s, wall time and
the learning curves; measurement suites (sac-speed, ppo-speed, kernels, pomdp, pomdp-speed) report their own rows
and tables.

The report directory holds `report.md`, `results.json` (the rows), `learning_curves.png` and the run dirs with
their raw per-run metrics (`metrics.jsonl`, `eval.json`, tensorboard events).

`--against REV` measures the suite on this tree and on git revision REV in turn, in one invocation, and reports
each number of both and their ratio (scripts/benchmarks/against.py).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

if __package__ in (None, ""):  # run as a file: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tyro  # noqa: E402

from scripts.benchmarks import SUITES, check_name, load_suite, register_suite  # noqa: E402, F401
from scripts.benchmarks.report import as_result, prepare_out_dir, write_report  # noqa: E402
from scripts.cli_errors import one_line_errors  # noqa: E402


@dataclass(frozen=True)
class BenchmarkArgs:
    """Run a named benchmark suite and write a report directory. Every invocation measures afresh: an --out-dir
    that already holds a report is refused, since its runs would resume and their old timings pass as new."""

    suite: Annotated[str, tyro.conf.Positional] = "smoke"
    """Suite name: smoke, ppo, mujoco, ppo-speed, sac-speed, kernels, pomdp, pomdp-speed, h2o, h2o-speed,
    hybrid, moorl-speed, worldmodels, worldmodels-speed, nha, nha-mpc (scripts/benchmarks/)."""
    out_dir: str | None = None
    """Report directory, a new one per invocation; default reports/SUITE__TIME. One with a report is refused."""
    quick: bool = False
    """Shrink the suite for a fast look; each suite says how (most training suites: two log chunks per run;
    mujoco: one seed)."""
    overwrite: bool = False
    """Delete the report already in --out-dir (report.md, results.json, its plot, runs/) and measure afresh."""
    resume: bool = False
    """Continue the report in --out-dir after an interruption: finished runs are read back as they are (their
    timings are those of the invocation that trained them), unfinished ones resume from their last checkpoint."""
    against: str | None = None
    """Git revision to measure side by side with this tree (e.g. a commit): runs the suite in both, alternating,
    and reports ours, theirs and ours/theirs for every number."""
    repeats: int = 2
    """With --against: runs of the suite in each tree (ours, theirs, ours, theirs, ...); medians over them."""
    paper: bool = False
    """pomdp only: the S5 paper's budget (S5 and GRU, 15M env steps per seed, 8 seeds, the paper's PPO update),
    MMER beside the paper's table; --quick takes a fifth of the steps."""
    cpu_preset: bool = False
    """pomdp --paper only: train with the `icrl` CPU preset's network and update instead of the paper's."""
    envs: tuple[str, ...] | None = None
    """pomdp only: the POPGym Hard envs to train (default all five of the paper's table), e.g. RepeatPreviousHard."""
    memories: tuple[str, ...] | None = None
    """pomdp only: the memories to train (default every one; with --paper s5 and gru)."""
    seeds: int | None = None
    """pomdp only: seeds per (memory, env) cell, trained at once under vmap (default 3; with --paper 8)."""


# Options only some suites take, and the suites that take them.
SUITE_OPTIONS = {"paper": ("pomdp",), "cpu_preset": ("pomdp",), "envs": ("pomdp",), "memories": ("pomdp",),
                 "seeds": ("pomdp",)}


class BenchmarkArgsError(ValueError):
    """Options that do not go together."""


def main(argv: list[str] | None = None) -> Path:
    args = tyro.cli(BenchmarkArgs, args=sys.argv[1:] if argv is None else argv)
    check_name(args.suite)
    if args.against is None and args.repeats != 2:
        raise BenchmarkArgsError("--repeats only applies with --against REV")
    if args.resume and (args.overwrite or args.against is not None):
        raise BenchmarkArgsError("--resume continues the report in --out-dir: it goes with neither --overwrite nor "
                                 "--against")
    if args.resume and args.out_dir is None:
        raise BenchmarkArgsError("--resume needs the --out-dir of the report to continue")
    out_dir = Path(args.out_dir or f"reports/{args.suite}__{time.strftime('%Y%m%d-%H%M%S')}")
    if args.against is not None:
        from scripts.benchmarks.against import compare

        return compare(args.suite, args.against, out_dir, args.quick, args.repeats, args.overwrite)
    extra = suite_options(args)
    suite = load_suite(args.suite)
    check = getattr(sys.modules[suite.__module__], "check_options", None)
    if check is not None:  # bad suite options are refused before the report directory is touched
        check(args.quick, **extra)
    prepare_out_dir(out_dir, args.overwrite, args.resume)
    start = time.perf_counter()
    result = as_result(suite(out_dir, args.quick, **extra))
    report = write_report(args.suite, out_dir, result, time.perf_counter() - start)
    print(result.body)
    print(f"report: {report}")
    return report


def suite_options(args: BenchmarkArgs) -> dict:
    """The suite-specific options given (not at their defaults), refused for a suite that does not take them."""
    given = {name: getattr(args, name) for name in SUITE_OPTIONS if getattr(args, name) is not None
             and getattr(args, name) is not False}
    for name in given:
        if args.suite not in SUITE_OPTIONS[name]:
            flag = "--" + name.replace("_", "-")
            raise BenchmarkArgsError(f"{flag} applies to the {' / '.join(SUITE_OPTIONS[name])} suite only, not "
                                     f"{args.suite!r}")
    if given and args.against is not None:
        raise BenchmarkArgsError("--against runs a suite at its own defaults: it does not take " +
                                 ", ".join("--" + n.replace("_", "-") for n in given))
    return given


def cli(argv: list[str] | None = None) -> None:
    with one_line_errors("benchmark"):
        main(argv)


def run_alone(suite: str) -> None:
    """A suite module run as a script takes the same options as `scripts/benchmark.py SUITE`."""
    cli([suite, *sys.argv[1:]])


if __name__ == "__main__":
    cli()
