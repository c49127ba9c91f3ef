"""scripts/fit.py end to end on tiny budgets: a generated system, a user's .npz without boundaries (detected),
and bad data that exits 2 with one line and writes nothing."""

import json

import numpy as np
import pytest

from scripts.fit import cli

TINY = ["--epochs", "20", "--event-steps", "20", "--window", "20", "--no-progress"]


def test_nha_on_generated_tcp_writes_eval_and_pngs(tmp_path):
    run = tmp_path / "run"
    cli(["--model", "nha", "--data", "hybrid:reno_tcp", "--modes", "3", "--run-dir", str(run), "--seed", "1",
         "--train-trajectories", "3", "--test-trajectories", "2", "--simulations", "20", *TINY])
    evaluation = json.loads((run / "eval.json").read_text())
    for key in ("test_mse", "v_measure", "homogeneity", "completeness", "ks_sojourn", "occupancy_max_error",
                "jump_map_mse"):
        assert key in evaluation, key
    assert np.isfinite(evaluation["test_mse"]) and 0 <= evaluation["v_measure"] <= 1
    assert (run / "trajectories.png").stat().st_size > 10_000


def user_data(path, n=6, length=120, **extra):
    """Piecewise trajectories: x grows at rate 1 or -1 by mode, resetting to 0 at each switch (no boundary key)."""
    t = np.tile(np.linspace(0.0, 6.0, length), (n, 1))
    mode = ((t // 1.5).astype(int) + np.arange(n)[:, None]) % 2
    x = np.where(mode == 0, 1.0, -1.0) * (t % 1.5) + 3.0
    np.savez(path, t=t, x=x[..., None], mode=mode, **extra)
    return path


@pytest.mark.parametrize("model", ["node", "latent_node"])
def test_baselines_on_a_user_npz_detect_boundaries(tmp_path, model):
    run = tmp_path / model
    cli(["--model", model, "--data", str(user_data(tmp_path / "d.npz")), "--run-dir", str(run), *TINY])
    evaluation = json.loads((run / "eval.json").read_text())
    assert evaluation["boundaries_detected"] and evaluation["test_segments"] >= 4
    assert np.isfinite(evaluation["test_mse"]) and "v_measure" not in evaluation


@pytest.mark.parametrize("bad, message", [
    ({"t": np.zeros((2, 5)), "x": np.zeros((2, 4, 1))}, "mismatched lengths"),
    ({"t": np.tile(np.arange(5.0), (2, 1)), "x": np.full((2, 5, 1), np.nan)}, "NaN"),
])
def test_bad_data_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, bad, message):
    np.savez(tmp_path / "bad.npz", **bad)
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as stop:
        cli(["--model", "nha", "--data", str(tmp_path / "bad.npz"), "--run-dir", str(run), *TINY])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not run.exists()


def test_ragged_arrays_are_refused(tmp_path, capsys):
    ragged = np.empty(2, object)
    ragged[0], ragged[1] = np.arange(3.0), np.arange(4.0)
    np.savez(tmp_path / "ragged.npz", t=ragged, x=ragged)
    with pytest.raises(SystemExit) as stop:
        cli(["--model", "node", "--data", str(tmp_path / "ragged.npz"), "--run-dir", str(tmp_path / "r"), *TINY])
    assert stop.value.code == 2 and "ragged" in capsys.readouterr().err


def test_a_negative_mode_balance_is_one_line_exit_2(tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as stop:
        cli(["--model", "nha", "--data", "hybrid:reno_tcp", "--mode-balance", "-0.1", "--run-dir", str(run), *TINY])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "--mode-balance" in err and len(err.splitlines()) == 1
    assert not run.exists()
