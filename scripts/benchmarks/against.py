"""`scripts/benchmark.py SUITE --against REV`: one suite measured on this tree ("ours") and on git revision REV
("theirs") side by side, in one invocation.

REV is checked out as a temporary detached worktree (removed afterwards). The suite then runs as a subprocess of
the same Python, alternately in each tree (ours, theirs, ours, theirs, ...), so a shared machine's slow spells fall
on both; each run is `TREE/scripts/benchmark.py SUITE --out-dir OUT/runs/{ours,theirs}-K [--quick]`, the command
line every revision of the suite takes. The venv's editable install points at one checkout, so each subprocess
first makes its own tree the first import root and checks that `core` and `scripts` come from it.

Rows of the two results.json files are matched by their first text column (widened by the next columns where that
alone repeats, e.g. the `kernels` rows); every number both have is reported as ours, theirs (medians over the
repeats) and ours / theirs (the median of each repeat's ratio, since a repeat's two runs are neighbours in time).
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from scripts.benchmarks.report import SuiteResult, prepare_out_dir, write_report

REPO_ROOT = Path(__file__).resolve().parents[2]

# Run in each subprocess: put TREE first on the import path, prove the imports come from it, run its benchmark.
LAUNCHER = """
import runpy, sys
from pathlib import Path
tree = Path(sys.argv[1]).resolve()
sys.path[0] = str(tree)
import core, scripts
for package in (core, scripts):
    where = Path(package.__file__).resolve()
    if not where.is_relative_to(tree):
        sys.exit(f"benchmark --against: {package.__name__} was imported from {where}, not from {tree}")
sys.argv = [str(tree / "scripts" / "benchmark.py"), *sys.argv[2:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


class RevisionError(ValueError):
    """A revision git cannot resolve, or a run of the suite that failed in one of the trees."""


def compare(suite: str, revision: str, out_dir: Path, quick: bool, repeats: int, overwrite: bool) -> Path:
    if repeats < 1:
        raise RevisionError(f"--repeats must be at least 1, not {repeats}")
    commit = resolve_revision(revision)
    prepare_out_dir(out_dir, overwrite)
    start = time.perf_counter()
    with temporary_worktree(commit) as theirs:
        results = run_in_turns(suite, {"ours": REPO_ROOT, "theirs": theirs}, out_dir / "runs", quick, repeats)
    rows = comparison_rows(results["ours"], results["theirs"])
    markdown = describe(suite, revision, commit, quick, repeats) + comparison_table(rows)
    report = write_report(f"{suite} --against {revision}", out_dir, SuiteResult(rows, markdown),
                          time.perf_counter() - start)
    print(markdown)
    print(f"report: {report}")
    return report


def resolve_revision(revision: str) -> str:
    done = git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise RevisionError(f"--against {revision!r}: not a commit of the repository at {REPO_ROOT}")
    return done.stdout.strip()


@contextmanager
def temporary_worktree(commit: str):
    """`git worktree add --detach` of `commit` in a temporary folder; removed (and pruned) on the way out."""
    folder = Path(tempfile.mkdtemp(prefix="hsrl-against-"))
    tree = folder / "tree"
    done = git("worktree", "add", "--detach", str(tree), commit, check=False)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RevisionError(f"git worktree add of {commit[:12]} failed: {done.stderr.strip()}")
    try:
        yield tree
    finally:
        git("worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(folder, ignore_errors=True)
        git("worktree", "prune", check=False)


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=check)


def run_in_turns(suite: str, trees: dict[str, Path], runs_dir: Path, quick: bool, repeats: int) -> dict:
    """results.json rows of every run, per tree, in the order run: {tree name: [rows of repeat 1, ...]}."""
    results: dict[str, list[list[dict]]] = {name: [] for name in trees}
    for repeat in range(1, repeats + 1):
        for name, tree in trees.items():
            out = (runs_dir / f"{name}-{repeat}").resolve()
            print(f"--- {suite} in {name} ({tree}), run {repeat} of {repeats}", flush=True)
            command = [sys.executable, "-c", LAUNCHER, str(tree), suite, "--out-dir", str(out),
                       *(["--quick"] if quick else [])]
            done = subprocess.run(command, cwd=tree)
            if done.returncode != 0:
                raise RevisionError(f"{suite} failed in {name} ({tree}) with exit status {done.returncode}; "
                                    "its output is above")
            results[name].append(json.loads((out / "results.json").read_text()))
    return results


def ambiguous_labels(row_sets: list[list[dict]]) -> set[str]:
    """Labels that more than one row of some result set would share, so those rows need more columns."""
    ambiguous: set[str] = set()
    while True:
        repeated = set()
        for rows in row_sets:
            labels = [row_label(row, ambiguous)[0] for row in rows]
            repeated |= {label for label in labels if labels.count(label) > 1}
        if repeated <= ambiguous:  # nothing new to widen (or rows that no column tells apart)
            return ambiguous
        ambiguous |= repeated


def row_label(row: dict, ambiguous: set[str]) -> tuple[str, list[str]]:
    """(label, the columns it is made of): the first text column, widened by the next ones while ambiguous."""
    columns = list(row)
    first = next((i for i, c in enumerate(columns) if isinstance(row[c], str)), 0)
    for end in range(first + 1, len(columns) + 1):
        label = " / ".join(str(row[c]) for c in columns[first:end])
        if label not in ambiguous:
            break
    return label, columns[first:end]


def comparison_rows(ours: list[list[dict]], theirs: list[list[dict]]) -> list[dict]:
    """One row per (matched row, number both trees report): ours, theirs, ours / theirs and the raw values."""
    ambiguous = ambiguous_labels([*ours, *theirs])
    labelled = lambda runs: [{row_label(row, ambiguous)[0]: row for row in rows} for rows in runs]
    ours_runs, theirs_runs = labelled(ours), labelled(theirs)
    rows = []
    for key, first in ours_runs[0].items():
        if not all(key in run for run in [*ours_runs, *theirs_runs]):
            continue
        for column in first:
            if column in row_label(first, ambiguous)[1]:
                continue
            ours_values = [run[key].get(column) for run in ours_runs]
            theirs_values = [run[key].get(column) for run in theirs_runs]
            if not all(_is_number(v) for v in ours_values + theirs_values):
                continue
            ratios = [_ratio(a, b) for a, b in zip(ours_values, theirs_values)]
            rows.append({"row": key, "column": column, "ours": _median(ours_values),
                         "theirs": _median(theirs_values), "ours_over_theirs": _median(ratios),
                         "ours_values": ours_values, "theirs_values": theirs_values})
    return rows


def comparison_table(rows: list[dict]) -> str:
    if not rows:
        return "(no row and number that both trees report)\n"
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| row | column | ours | theirs | ours / theirs |", "|---|---|---|---|---|"]
    lines += [f"| {r['row']} | {r['column']} | {fmt(r['ours'])} | {fmt(r['theirs'])} | "
              f"{fmt(r['ours_over_theirs'])} |" for r in rows]
    return "\n".join(lines) + "\n"


def describe(suite: str, revision: str, commit: str, quick: bool, repeats: int) -> str:
    ours = git("rev-parse", "--short", "HEAD", check=False).stdout.strip() or "?"
    dirty = " plus uncommitted changes" if git("status", "--porcelain", check=False).stdout.strip() else ""
    return (f"Suite `{suite}`{' --quick' if quick else ''} run {repeats} times in each tree, alternately (ours, "
            f"theirs, ...). Ours: this working tree (HEAD {ours}{dirty}); theirs: `{revision}` = {commit[:12]}. "
            "ours and theirs are medians over the runs; ours / theirs is the median of each run pair's ratio. "
            "Raw reports: `runs/ours-K/`, `runs/theirs-K/`.\n\n")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ratio(a: float, b: float) -> float:
    return a / b if b != 0 and math.isfinite(b) else math.nan


def _median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan
