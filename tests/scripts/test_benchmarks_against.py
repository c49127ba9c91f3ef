"""`scripts/benchmark.py SUITE --against REV`: the suite runs in this tree and in a temporary worktree of REV,
alternately, each subprocess importing its own tree's code; rows are matched and every shared number gets ours,
theirs and their ratio; the worktree is gone afterwards."""

import json
import subprocess
from pathlib import Path

import pytest

from scripts import benchmark
from scripts.benchmarks import against

REPO = Path(__file__).resolve().parents[2]

# A suite file that reports which checkout its process imported `scripts` from, as a number that differs by tree.
TOY_SUITE = '''
from pathlib import Path
import scripts

def run(out_dir, quick):
    root = Path(scripts.__file__).resolve().parents[1]
    return [{"case": "tree", "root": str(root), "root_length": float(len(str(root))), "quick": quick},
            {"case": "fixed", "value": 4}]
'''


def worktrees() -> list[str]:
    listing = subprocess.run(["git", "-C", str(REPO), "worktree", "list", "--porcelain"], capture_output=True,
                             text=True, check=True).stdout
    return [line for line in listing.splitlines() if line.startswith("worktree ")]


def test_against_head_runs_both_trees_in_turn_and_reports_ratios(tmp_path, monkeypatch):
    suite_file = tmp_path / "toy_suite.py"
    suite_file.write_text(TOY_SUITE)
    monkeypatch.setenv("HSRL_BENCHMARK_SUITES", f"toy-against={suite_file}")
    before = worktrees()
    out = tmp_path / "report"

    report = benchmark.main(["toy-against", "--against", "HEAD", "--repeats", "2", "--out-dir", str(out)])

    assert worktrees() == before, "the temporary worktree is removed"
    runs = sorted((out / "runs").iterdir(), key=lambda d: (d / "results.json").stat().st_mtime)
    assert [d.name for d in runs] == ["ours-1", "theirs-1", "ours-2", "theirs-2"]
    roots = {d.name: json.loads((d / "results.json").read_text())[0]["root"] for d in runs}
    assert roots["ours-1"] == roots["ours-2"] == str(REPO)
    assert roots["theirs-1"] != str(REPO) and "hsrl-against-" in roots["theirs-1"], "theirs imports its own tree"

    rows = {(r["row"], r["column"]): r for r in json.loads((out / "results.json").read_text())}
    assert set(rows) == {("tree", "root_length"), ("fixed", "value")}, "text and flags are not compared"
    length = rows["tree", "root_length"]
    assert length["ours"] == len(str(REPO)) and length["theirs"] == len(roots["theirs-1"])
    assert length["ours_over_theirs"] == pytest.approx(len(str(REPO)) / len(roots["theirs-1"]))
    assert rows["fixed", "value"]["ours_over_theirs"] == 1.0 and rows["fixed", "value"]["ours_values"] == [4, 4]
    text = report.read_text()
    assert "| row | column | ours | theirs | ours / theirs |" in text and "| fixed | value | 4 | 4 | 1 |" in text


def test_an_unknown_revision_is_one_line_and_leaves_nothing(tmp_path):
    before = worktrees()
    with pytest.raises(against.RevisionError, match="--against 'no-such-rev': not a commit"):
        benchmark.main(["smoke", "--against", "no-such-rev", "--out-dir", str(tmp_path / "x")])
    assert worktrees() == before and not (tmp_path / "x").exists()


def test_repeats_without_against_is_refused(tmp_path):
    with pytest.raises(ValueError, match="--repeats only applies with --against"):
        benchmark.main(["smoke", "--repeats", "3", "--out-dir", str(tmp_path / "x")])


def test_rows_are_matched_by_their_first_text_column_widened_where_it_repeats():
    ours = [[{"kind": "machine", "bandwidth": 2.0},
             {"kind": "recurrence", "T": 1, "method": "scan", "rate": 10.0},
             {"kind": "recurrence", "T": 2, "method": "scan", "rate": 20.0},
             {"kind": "recurrence", "T": 2, "method": "tree", "rate": 30.0}]]
    theirs = [[{"kind": "recurrence", "T": 2, "method": "scan", "rate": 10.0},
               {"kind": "machine", "bandwidth": 1.0}]]
    rows = {(r["row"], r["column"]): r["ours_over_theirs"] for r in against.comparison_rows(ours, theirs)}
    assert rows == {("machine", "bandwidth"): 2.0, ("recurrence / 2 / scan", "rate"): 2.0}
