"""The `ppo` suite: PPO on our JAX CartPole with PureJaxRL's default config (feed-forward and GRU, 512k steps)
and on our JAX Pendulum (205k steps), 3 seeds each; `--quick` trains two log chunks per run.

    python scripts/benchmark.py ppo [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from scripts.benchmarks.training import Run, TrainingSuite  # noqa: E402

PUREJAXRL_CARTPOLE = ("--num-envs", "4", "--num-steps", "128", "--update-epochs", "4", "--num-minibatches", "4",
                      "--lr", "2.5e-4", "--anneal-lr-steps", "512000")
PENDULUM_PPO = ("--num-envs", "16", "--num-steps", "256", "--lr", "1e-3", "--gamma", "0.9", "--update-epochs", "10",
                "--num-minibatches", "16", "--ent-coef", "0.0", "--value-clip-eps", "0.0", "--anneal-lr-steps",
                "204800")

SUITE = TrainingSuite((
    Run("ppo", "jax:CartPole-v1", 512_000, options=PUREJAXRL_CARTPOLE, log_every=25_600, eval_episodes=20,
        label="ppo CartPole (PureJaxRL config)"),
    Run("ppo", "jax:CartPole-v1", 512_000, options=(*PUREJAXRL_CARTPOLE, "--memory", "gru"), log_every=25_600,
        eval_episodes=20, label="ppo-gru CartPole"),
    Run("ppo", "jax:Pendulum-v1", 204_800, options=PENDULUM_PPO, log_every=20_480, eval_episodes=20,
        label="ppo Pendulum"),
))
run = SUITE.run

if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("ppo")
