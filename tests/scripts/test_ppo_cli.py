"""PPO through scripts/train.py: a paused and resumed recurrent run ends with the same parameters as an
uninterrupted one (the memory carry is checkpointed), and a host gymnasium env trains and evaluates."""

import jax
import numpy as np

from scripts import evaluate, train

TINY_PPO = ["--agent", "ppo", "--num-envs", "4", "--num-steps", "16", "--hidden", "8", "--num-minibatches", "2",
            "--eval-episodes", "2", "--no-progress"]


def _final_params(run_dir):
    from core.checkpoint import Checkpointer

    checkpointer = Checkpointer(run_dir / "checkpoints")
    restored = checkpointer.manager.restore(checkpointer.latest_step())
    checkpointer.close()
    return restored["state"]


def test_paused_and_resumed_recurrent_ppo_matches_an_uninterrupted_run(tmp_path):
    args = [*TINY_PPO, "--env", "jax:CartPole-v1", "--memory", "gru", "--memory-size", "8", "--total-steps", "256",
            "--log-every", "64", "--eval-every", "256", "--seed", "3"]
    assert train.main([*args, "--run-dir", str(tmp_path / "whole")])
    assert train.main([*args, "--run-dir", str(tmp_path / "parts"), "--stop-after", "128"]) == {}
    train.main([*args, "--run-dir", str(tmp_path / "parts")])
    whole, parts = _final_params(tmp_path / "whole"), _final_params(tmp_path / "parts")
    for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(parts)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_ppo_on_a_host_gymnasium_env_trains_and_evaluates(tmp_path):
    run_dir = tmp_path / "host"
    summary = train.main([*TINY_PPO, "--env", "gym:CartPole-v1", "--total-steps", "128", "--log-every", "64",
                          "--eval-every", "128", "--run-dir", str(run_dir)])
    assert summary["episodes"] == 2 and np.isfinite(summary["mean_return"])
    assert evaluate.main(["--run-dir", str(run_dir), "--episodes", "3"])["episodes"] == 3
