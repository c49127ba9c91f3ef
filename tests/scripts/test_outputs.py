"""What the scripts leave on disk: plots drawn from run dirs (aligned by step, labelled by what differs, written
next to the runs), an evaluation history beside the training's eval.json, file modes, benchmark out-dirs, and
a tensorboard that can read the event files."""

import json
import math
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.files import write_json_atomically
from scripts import benchmark, evaluate, plot
from scripts.cli_errors import one_line_errors

NAN = math.nan


def make_run(path: Path, records: list[dict], seed: int = 0, total_steps: int = 400, **agent) -> Path:
    """A run dir by hand: a config.json like train.py's and one metrics.jsonl line per record."""
    path.mkdir(parents=True)
    run = {"agent": "sac", "env": "jax:Pendulum-v1", "total_steps": total_steps, "seed": seed, "run_dir": str(path),
           "log_every": 100, "eval_every": 200, "eval_episodes": 2, "checkpoint_every": 200, "stop_after": None,
           "progress": False}
    config = {"run": run, "agent": {"lr": 1e-3, "hidden": [8, 8], **agent}}
    (path / "config.json").write_text(json.dumps(config))
    (path / "metrics.jsonl").write_text("".join(json.dumps({"time": 0.0, **r}) + "\n" for r in records))
    return path


def returns(*pairs) -> list[dict]:
    """Records `{step, episode_return}`; a value of None leaves the key out, as a chunk where no episode ended."""
    return [{"step": s} if v is None else {"step": s, "episode_return": v} for s, v in pairs]


@pytest.fixture
def figures(monkeypatch):
    """The figures the plotting code closes, kept open so a test can read the lines it drew."""
    import matplotlib.pyplot as plt

    kept, close = [], plt.close
    monkeypatch.setattr(plt, "close", kept.append)
    yield kept
    for fig in kept:
        close(fig)


def line_data(fig, label: str | None = None) -> np.ndarray:
    lines = [ln for ln in fig.axes[0].lines if label is None or ln.get_label() == label]
    assert len(lines) == 1
    return lines[0].get_xydata()


def one_line_error(main, argv) -> str:
    with pytest.raises(SystemExit) as exit_info, one_line_errors("test"):
        main(argv)
    assert exit_info.value.code != 0
    return str(exit_info.value.__context__)


# --- plot.py -----------------------------------------------------------------------------------------------


def test_runs_pool_by_env_step_keeping_whole_curves_and_joining_over_missing_chunks(tmp_path, figures):
    short = make_run(tmp_path / "runs" / "s0", returns((100, 1.0), (200, NAN), (300, 3.0)), seed=0)
    long = make_run(tmp_path / "runs" / "s1", returns((100, 3.0), (200, None), (300, 5.0), (400, 7.0), (500, 9.0)),
                    seed=1, total_steps=500)
    odd = make_run(tmp_path / "runs" / "s2", returns((150, 0.0), (300, 1.0)), seed=2, total_steps=300)

    out = plot.main([str(short), str(long), str(odd), "--metrics", "episode_return"])
    points = line_data(figures[-1])
    # Union of the steps; each the mean of the runs with a value there; nothing cut to the shortest run, and
    # step 200 (NaN in one run, absent in the other) is skipped, so the line joins 100 to 150 to 300.
    assert points.tolist() == [[100, 2.0], [150, 0.0], [300, 3.0], [400, 7.0], [500, 9.0]]
    band = figures[-1].axes[0].collections[0].get_paths()[0].vertices
    assert np.isfinite(band).all() and band[:, 1].min() == 0.0 and band[:, 1].max() == 9.0
    assert out.resolve() == (tmp_path / "runs" / "learning_curves.png").resolve()


def test_curves_are_labelled_by_what_differs_and_seeds_pool(tmp_path):
    records = returns((100, 1.0), (200, 2.0))
    runs = [make_run(tmp_path / "a0", records, seed=0), make_run(tmp_path / "a1", records, seed=1, total_steps=800),
            make_run(tmp_path / "b0", records, lr=3e-4),
            make_run(tmp_path / "g0", records, memory="gru", lr=3e-4)]
    groups = plot.group_by_config(runs)
    assert groups == {"sac jax:Pendulum-v1 lr=0.001": runs[:2], "sac jax:Pendulum-v1 lr=0.0003": [runs[2]],
                      "sac-gru jax:Pendulum-v1 lr=0.0003": [runs[3]]}
    alone = plot.group_by_config(runs[:2])
    assert list(alone) == ["sac jax:Pendulum-v1"], "nothing differs: agent and env only"


def test_plot_refuses_nonsense_with_one_line(tmp_path, capsys):
    run = make_run(tmp_path / "run", returns((100, 1.0)))
    assert "no run directories given" in one_line_error(plot.main, [])
    message = one_line_error(plot.main, [str(run), "--metrics", "eval_retrun"])
    assert "'eval_retrun'" in message and "episode_return" in message
    assert "does not exist" in one_line_error(plot.main, [str(tmp_path / "nope")])
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and all(e.startswith("test: error: ") for e in errors)
    assert not list(tmp_path.rglob("*.png"))


def test_plot_writes_next_to_the_runs_and_prints_the_real_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "sweep" / "runs"
    first = make_run(runs / "a", returns((100, 1.0)))
    make_run(runs / "b", returns((100, 2.0)), seed=1)

    assert plot.main([str(first)]) == first / "learning_curves.png"
    assert plot.main(["sweep/runs/a", "sweep/runs/b"]) == Path("sweep/runs/learning_curves.png")
    (tmp_path / "figs").mkdir()
    assert plot.main(["sweep/runs", "--out", "figs"]) == Path("figs/learning_curves.png")
    assert plot.main(["sweep/runs", "--out", "curves"]) == Path("curves.png")
    printed = [line.rsplit(": ", 1)[1] for line in capsys.readouterr().out.splitlines()]
    assert printed == [str(first / "learning_curves.png"), "sweep/runs/learning_curves.png",
                       "figs/learning_curves.png", "curves.png"]
    assert all(Path(p).is_file() for p in printed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "figs", "sweep"]


def test_pomdp_learning_curves_join_over_updates_without_episodes(tmp_path, figures):
    from scripts.benchmarks import pomdp as pomdp_benchmark

    gappy = np.array([[0.1, NAN, 0.3, NAN], [0.2, NAN, NAN, 0.5]])
    results = {(m, e): {"returns": gappy} for m in pomdp_benchmark.MEMORIES for e in pomdp_benchmark.PAPER_ENVS}
    pomdp_benchmark.plot_curves(results, 400, tmp_path / "learning_curves.png")
    s5 = line_data(figures[-1], "s5")
    assert np.isfinite(s5).all() and s5.tolist() == [[100, pytest.approx(0.15)], [300, 0.3], [400, 0.5]]

    pomdp_benchmark.redraw_curves(tmp_path)
    assert line_data(figures[-1], "gru").tolist() == s5.tolist()


# --- evaluate.py and file modes ------------------------------------------------------------------------------


def test_evaluations_are_kept_beside_the_training_result(tmp_path):
    from scripts import train

    run_dir = tmp_path / "run"
    old_umask = os.umask(0o022)
    try:
        train.main(["--agent", "sac", "--env", "jax:Pendulum-v1", "--total-steps", "200", "--log-every", "100",
                    "--eval-every", "200", "--eval-episodes", "1", "--hidden", "8", "8", "--batch-size", "8",
                    "--buffer-size", "256", "--learning-starts", "50", "--no-progress", "--run-dir", str(run_dir)])
        trained = (run_dir / "eval.json").read_bytes()
        evaluate.main(["--run-dir", str(run_dir), "--episodes", "2"])
        evaluate.main(["--run-dir", str(run_dir), "--episodes", "2", "--seed", "5"])
        evaluate.main(["--run-dir", str(run_dir), "--episodes", "2", "--seed", "5"])
        with pytest.raises(ValueError, match="--episodes must be positive"):
            evaluate.main(["--run-dir", str(run_dir), "--episodes", "0"])
    finally:
        os.umask(old_umask)

    assert (run_dir / "eval.json").read_bytes() == trained
    history = sorted((run_dir / "evaluations").iterdir())
    assert len(history) == 3 and all(p.name.startswith("eval__step200__2ep__seed") for p in history)
    assert sorted(json.loads(p.read_text())["seed"] for p in history) == [0, 5, 5]
    for path in [run_dir / "config.json", run_dir / "eval.json", *history]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_json_files_get_the_mode_open_would_give(tmp_path):
    old_umask = os.umask(0o027)
    try:
        write_json_atomically(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"], "no temporary file left behind"


# --- benchmark.py out-dirs -----------------------------------------------------------------------------------


@pytest.fixture
def toy_suite():
    calls = []

    def suite(out_dir, quick):
        calls.append(out_dir)
        (out_dir / "runs" / "fresh").mkdir(parents=True, exist_ok=True)
        return [{"case": "a", "calls": len(calls)}]

    benchmark.register_suite("toy-outputs", suite)
    yield calls
    benchmark.SUITES.pop("toy-outputs")


def test_benchmark_out_dir_that_is_a_file_is_one_line_and_writes_nothing(tmp_path, toy_suite):
    target = tmp_path / "taken"
    target.write_text("mine")
    assert "is a file" in one_line_error(benchmark.main, ["toy-outputs", "--out-dir", str(target)])
    assert target.read_text() == "mine" and [p.name for p in tmp_path.iterdir()] == ["taken"] and not toy_suite


def test_benchmark_never_reports_an_earlier_invocation_as_its_own(tmp_path, toy_suite):
    out = tmp_path / "report"
    benchmark.main(["toy-outputs", "--out-dir", str(out)])
    first = (out / "report.md").read_text()
    message = one_line_error(benchmark.main, ["toy-outputs", "--out-dir", str(out)])
    assert "already holds a report" in message and "--overwrite" in message
    assert (out / "report.md").read_text() == first and len(toy_suite) == 1

    (out / "runs" / "stale").mkdir()
    benchmark.main(["toy-outputs", "--out-dir", str(out), "--overwrite"])
    assert [p.name for p in (out / "runs").iterdir()] == ["fresh"], "earlier runs are deleted, not resumed"
    assert json.loads((out / "results.json").read_text()) == [{"case": "a", "calls": 2}]


def test_benchmark_resume_keeps_the_runs_of_an_interrupted_report(tmp_path, toy_suite):
    out = tmp_path / "report"
    (out / "runs" / "trained-earlier").mkdir(parents=True)
    benchmark.main(["toy-outputs", "--out-dir", str(out), "--resume"])
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["fresh", "trained-earlier"]
    assert json.loads((out / "results.json").read_text()) == [{"case": "a", "calls": 1}]
    for bad in (["--overwrite"], ["--against", "HEAD"]):
        assert "--resume" in one_line_error(benchmark.main, ["toy-outputs", "--out-dir", str(out), "--resume", *bad])
    assert "--out-dir" in one_line_error(benchmark.main, ["toy-outputs", "--resume"])
    assert len(toy_suite) == 1


# --- tensorboard ---------------------------------------------------------------------------------------------


def test_tensorboard_is_installed_and_reads_the_run_events(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from core.logging import RunLogger

    logger = RunLogger(tmp_path, 200, show_progress=False)
    logger.log(100, {"episode_return": 1.5})
    logger.log(200, {"episode_return": 2.5})
    logger.close()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("episode_return")] == [(100, 1.5), (200, 2.5)]

    console = Path(sys.executable).parent / "tensorboard"
    done = subprocess.run([str(console), "--version_tb"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip()[0].isdigit(), done.stderr


def test_a_misspelt_benchmark_suite_names_the_close_one(tmp_path):
    from scripts import benchmark

    with pytest.raises(ValueError, match="unknown suite 'smok'; did you mean smoke\\?"):
        benchmark.main(["smok", "--out-dir", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()
