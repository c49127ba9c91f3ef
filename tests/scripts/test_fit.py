"""scripts/fit.py end to end on tiny models: both registered models fit and write eval.json and their picture;
a rerun of a finished fit changes nothing; bad input is one line, exit 2, and nothing written."""

import json
import sys

import numpy as np
import pytest

from scripts import fit
from worldmodels import episodes
from worldmodels.collection import collect

ENV = "pixels:pendulum_swingup?distractor=shapes&num_shapes=2&size=16"
TINY = ["--depth", "4", "--deter", "16", "--stoch", "4", "--classes", "4", "--units", "16", "--batch-size", "2",
        "--sequence-length", "8", "--updates", "4", "--log-every", "2", "--checkpoint-every", "4", "--holdout", "2",
        "--no-progress"]
KEYS = {"task_state_r2", "task_state_r2_per_dim", "distractor_state_r2", "distractor_state_r2_per_dim",
        "task_state_invariant_r2", "distractor_features_r2", "reward_mse", "notes", "pictures", "updates",
        "final_metrics"}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "episodes.npz"
    return episodes.save(collect(ENV, 6, 16, 0.8, 0), path)


def test_both_models_fit_and_probe_from_an_env_and_from_a_file(tmp_path, data_file):
    rssm_dir, hrssm_dir = tmp_path / "rssm", tmp_path / "hrssm"
    from_env = fit.main(["--model", "rssm", "--data", ENV, "--episodes", "6", "--episode-length", "16",
                         "--run-dir", str(rssm_dir), *TINY])
    # A file without the probe targets: those probes are null, with a note.
    data = episodes.load(data_file)
    bare = episodes.save(episodes.Episodes(data.image, data.action, data.reward), tmp_path / "bare.h5")
    hrssm_args = ["--model", "hrssm", "--data", str(bare), "--patch", "4", "--run-dir", str(hrssm_dir), *TINY]
    from_file = fit.main(hrssm_args)
    for result, run_dir, picture in ((from_env, rssm_dir, "reconstructions.png"), (from_file, hrssm_dir, "masks.png")):
        saved = json.loads((run_dir / "eval.json").read_text())
        assert KEYS <= set(saved) and saved == json.loads(json.dumps(result))
        assert np.isfinite(saved["reward_mse"])
        assert saved["pictures"] == [picture] and (run_dir / picture).stat().st_size > 0
        assert [json.loads(line)["update"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == [2, 4]
    assert np.isfinite(from_env["task_state_r2"]) and np.isfinite(from_env["distractor_state_r2"])
    assert np.isfinite(from_env["task_state_invariant_r2"]) and len(from_env["distractor_features_r2_per_dim"]) == 16
    assert from_file["task_state_r2"] is None and from_file["distractor_state_r2"] is None
    assert any("no task_state" in note for note in from_file["notes"])
    assert episodes.load(rssm_dir / "dataset.npz").num_episodes == 6, "collected data is kept in the run dir"

    before = (hrssm_dir / "eval.json").read_text()
    assert fit.main(hrssm_args) == json.loads(before) and (hrssm_dir / "eval.json").read_text() == before
    with pytest.raises(FileExistsError, match="other options .*model_options"):
        fit.main([*hrssm_args, "--mask-ratio", "0.25"])


@pytest.mark.parametrize("args, message", [
    (["--model", "rssn", "--data", ENV], "unknown --model 'rssn'; did you mean rssm"),
    (["--data", "pixels:pendulum_swingdown"], "pendulum_swingdown"),
    (["--data", "BAD"], "image must be uint8"),
    (["--data", ENV, "--patch", "3"], "--patch 3 does not divide"),
    (["--data", ENV, "--updates", "0"], "--updates must be positive"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys, args, message):
    bad = tmp_path / "bad.npz"
    np.savez(bad, image=np.zeros((3, 4, 8, 8, 3), np.float32), action=np.zeros((3, 4, 1)), reward=np.zeros((3, 4)))
    args = [str(bad) if a == "BAD" else a for a in args]
    run_dir = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", ["fit.py", *args, "--run-dir", str(run_dir), "--episodes", "3",
                                      "--episode-length", "8", "--holdout", "1", "--sequence-length", "4"])
    with pytest.raises(SystemExit) as exited:
        fit.cli()
    err = capsys.readouterr().err.strip()
    assert exited.value.code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("fit: error:") and message in err
    assert not run_dir.exists()


def test_a_fit_extended_in_two_runs_equals_one_run(tmp_path, data_file):
    args = ["--model", "hrssm", "--data", str(data_file), "--patch", "4", *TINY, "--checkpoint-every", "2"]
    whole = fit.main([*args, "--run-dir", str(tmp_path / "whole")])
    fit.main([*args, "--run-dir", str(tmp_path / "parts"), "--updates", "2"])
    parts = fit.main([*args, "--run-dir", str(tmp_path / "parts")])
    for key in ("task_state_r2", "distractor_state_r2", "reward_mse"):
        assert parts[key] == pytest.approx(whole[key], rel=1e-5), key
    logged = [json.loads(line)["update"] for line in (tmp_path / "parts" / "metrics.jsonl").read_text().splitlines()]
    assert logged == [2, 4], "the extension logs each update once"
