"""A run's life through scripts/train.py: starts that fail leave nothing, run dirs are checked before use, pauses
print the command that finishes them, finished runs extend, and a non-finite learner stops the run."""

import json
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from core.loops.off_policy import OffPolicyLoop
from scripts import train

TINY_SAC = ["--env", "jax:Pendulum-v1", "--hidden", "8", "8", "--batch-size", "16", "--buffer-size", "1000",
            "--learning-starts", "100", "--eval-episodes", "1", "--no-progress"]


def _steps(run_dir: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _cli(argv: list[str]) -> int:
    sys.argv = ["train", *argv]
    with pytest.raises(SystemExit) as exit_info:
        train.cli()
    return exit_info.value.code


def test_a_failed_start_leaves_nothing_and_the_corrected_command_then_runs(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    args = [*TINY_SAC, "--total-steps", "200", "--log-every", "100", "--run-dir", str(run_dir)]

    def crash(self, carry):
        raise ValueError("crashed in the first chunk")

    with monkeypatch.context() as patch:
        patch.setattr(OffPolicyLoop, "advance", crash)
        with pytest.raises(ValueError, match="first chunk"):
            train.main(args)
    assert not run_dir.exists()
    assert train.main(args)["step"] == 200


def test_a_failed_start_in_an_empty_folder_keeps_the_folder_empty(tmp_path, monkeypatch):
    run_dir = tmp_path / "empty"
    run_dir.mkdir()
    monkeypatch.setattr(OffPolicyLoop, "advance", lambda self, carry: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        train.main([*TINY_SAC, "--total-steps", "100", "--log-every", "100", "--run-dir", str(run_dir)])
    assert run_dir.is_dir() and not any(run_dir.iterdir())


@pytest.mark.parametrize("content, message", [
    ("[]", "config.json: expected an object with 'run' and 'agent' objects, got a JSON list"),
    ('{"run": 3, "agent": {}}', "config.json: expected an object with 'run' and 'agent' objects"),
    ('{"run": {"agent": "sac", "env":\n "jax:Pendulum-v1"\u0001}', "config.json: invalid JSON at line 2"),
])
def test_a_broken_config_json_is_named_and_left_alone(tmp_path, capsys, content, message):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(content)
    assert _cli([*TINY_SAC, "--run-dir", str(run_dir)]) == 2
    line = _one_error_line(capsys)
    assert message in line and line.startswith("train: error:")
    assert (run_dir / "config.json").read_text() == content and len(list(run_dir.iterdir())) == 1


def test_run_dir_that_is_a_file_or_a_foreign_folder_is_refused(tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert _cli([*TINY_SAC, "--run-dir", str(a_file)]) == 2
    assert "is a file, not a run directory" in _one_error_line(capsys)
    assert a_file.read_text() == "mine"

    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_text("meow")
    assert _cli([*TINY_SAC, "--run-dir", str(foreign)]) == 2
    assert "holds no run (no config.json)" in _one_error_line(capsys)
    assert [p.name for p in foreign.iterdir()] == ["cat.jpg"]


def test_a_pause_prints_the_command_that_finishes_the_run_and_exits_75(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default run dir lands under ./runs
    args = [*TINY_SAC, "--total-steps", "400", "--log-every", "100", "--eval-every", "400", "--stop-after", "200"]
    assert _cli(args) == 75
    out = capsys.readouterr().out
    assert "paused at step 200 (--stop-after 200)" in out
    command = out.split("resume with: ")[1].strip().split()
    assert command[:2] == ["python", "scripts/train.py"] and "--stop-after" not in command
    run_dir = Path(command[command.index("--run-dir") + 1])
    assert run_dir.parent == Path("runs") and (run_dir / "config.json").is_file()

    # Rerunning the printed command (as the same process would) finishes the run.
    assert train.main(command[2:])["step"] == 400
    assert _steps(run_dir) == [100, 200, 300, 400]
    assert json.loads((run_dir / "eval.json").read_text())["step"] == 400


def test_a_finished_run_extends_with_a_larger_total_and_a_rerun_changes_nothing(tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = [*TINY_SAC, "--eval-every", "200", "--run-dir", str(run_dir)]  # --log-every 1000 is cut to the total
    train.main([*args, "--total-steps", "200"])
    first_eval = (run_dir / "eval.json").read_text()
    assert train.main([*args, "--total-steps", "200"]) == json.loads(first_eval)
    assert "already finished at step 200" in capsys.readouterr().out
    assert (run_dir / "eval.json").read_text() == first_eval

    assert train.main([*args, "--total-steps", "600"])["step"] == 600
    assert _steps(run_dir) == [200, 400, 600], "the extension keeps the run's own 200-step chunks"
    assert json.loads((run_dir / "config.json").read_text())["run"]["total_steps"] == 600
    with pytest.raises(ValueError, match="at step 600, past --total-steps 200"):
        train.main([*args, "--total-steps", "200"])


def test_config_and_eval_files_are_world_readable(tmp_path):
    run_dir = tmp_path / "run"
    train.main([*TINY_SAC, "--total-steps", "100", "--log-every", "100", "--run-dir", str(run_dir)])
    umask = os.umask(0)
    os.umask(umask)
    for name in ("config.json", "eval.json", "metrics.jsonl"):
        assert (run_dir / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_a_non_finite_learner_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    honest_advance = OffPolicyLoop.advance
    chunks = []

    def poisoned_after_two_chunks(self, carry):
        carry, stats = honest_advance(self, carry)
        chunks.append(1)
        if len(chunks) == 3:
            actor = jax.tree.map(lambda x: jnp.full_like(x, jnp.nan), carry.agent.actor)
            carry = carry.replace(agent=carry.agent.replace(actor=actor))
        return carry, stats

    monkeypatch.setattr(OffPolicyLoop, "advance", poisoned_after_two_chunks)
    with pytest.raises(ValueError, match=r"non-finite parameter .*actor.* at step 300; stopped, the last "
                                         r"checkpoint \(step 200\) is kept"):
        train.main([*TINY_SAC, "--total-steps", "400", "--log-every", "100", "--checkpoint-every", "100",
                    "--run-dir", str(run_dir)])
    assert _steps(run_dir) == [100, 200]
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["100", "200"]


def test_sac_logs_no_learner_metrics_before_it_learns(tmp_path):
    run_dir = tmp_path / "run"
    train.main([*TINY_SAC, "--total-steps", "300", "--log-every", "100", "--learning-starts", "150",
                "--run-dir", str(run_dir)])
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert "critic_loss" not in records[0] and "alpha" not in records[0]
    assert all(key in records[1] for key in ("critic_loss", "actor_loss", "alpha", "entropy"))
