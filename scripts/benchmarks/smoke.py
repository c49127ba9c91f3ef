"""The `smoke` suite: two tiny PPO trainings on our JAX CartPole (feed-forward over two seeds, GRU over one), to
check in about a minute that training, evaluation and the report work end to end.

    python scripts/benchmark.py smoke [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from scripts.benchmarks.training import Run, TrainingSuite  # noqa: E402

TINY_PPO = ("--num-envs", "4", "--num-steps", "64", "--hidden", "16", "16", "--num-minibatches", "2")

SUITE = TrainingSuite((
    Run("ppo", "jax:CartPole-v1", 1024, seeds=(0, 1), options=TINY_PPO, log_every=512, eval_episodes=2, label="ppo"),
    Run("ppo", "jax:CartPole-v1", 512, seeds=(0,), options=(*TINY_PPO, "--memory", "gru", "--memory-size", "8"),
        log_every=256, eval_episodes=2, label="ppo-gru"),
))
run = SUITE.run

if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("smoke")
