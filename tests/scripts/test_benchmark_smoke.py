"""`scripts/benchmark.py smoke` writes a report (table, curves, raw metrics); plot.py redraws from run dirs; a
suite can be a plain function."""

import json

from scripts import benchmark, plot


def test_smoke_suite_writes_a_report_with_table_plot_and_raw_metrics(tmp_path):
    out = tmp_path / "report"
    report = benchmark.main(["smoke", "--out-dir", str(out)])
    text = report.read_text()
    assert "| run | env | steps | seeds | return | steps_per_second | wall_seconds |" in text
    assert "| ppo | jax:CartPole-v1 | 1024 | 2 |" in text and "| ppo-gru |" in text
    assert "![learning curves](learning_curves.png)" in text and (out / "learning_curves.png").stat().st_size > 0
    rows = json.loads((out / "results.json").read_text())
    assert [r["run"] for r in rows] == ["ppo", "ppo-gru"]
    assert len(list((out / "runs").glob("*/metrics.jsonl"))) == 3

    image = plot.main([str(out / "runs"), "--out", str(tmp_path / "again.png")])
    assert image.stat().st_size > 0


def test_a_function_suite_reports_its_rows(tmp_path):
    benchmark.register_suite("toy", lambda out_dir, quick: [{"case": "a", "steps_per_second": 1.5}])
    try:
        report = benchmark.main(["toy", "--out-dir", str(tmp_path)])
    finally:
        benchmark.SUITES.pop("toy")
    assert "| case | steps_per_second |" in report.read_text() and "| a | 1.5 |" in report.read_text()
