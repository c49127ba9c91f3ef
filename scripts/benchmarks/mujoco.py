"""The `mujoco` suite: SAC on four gymnasium MuJoCo tasks (HalfCheetah, Hopper, Walker2d, Ant, all v5) at a
CPU-sized budget of 100k env steps, 3 seeds (`--quick`: 1 seed, the same 100k steps).

SAC's defaults (Haarnoja et al. 2018 sizes): 256-256 networks, batch 256, one update per env step, 5,000
uniform random steps first. Logged every 5,000 steps, evaluated every 10,000 with 10 deterministic episodes.
100k steps is a tenth of the usual 1M-step budget, so returns are early-training figures, not final ones.

    python scripts/benchmark.py mujoco [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from scripts.benchmarks.training import Run, TrainingSuite  # noqa: E402

ENVS = ("gym:HalfCheetah-v5", "gym:Hopper-v5", "gym:Walker2d-v5", "gym:Ant-v5")
TOTAL_STEPS = 100_000
SEEDS = (0, 1, 2)
QUICK_SEEDS = (0,)


def sac_run(env: str) -> Run:
    return Run("sac", env, TOTAL_STEPS, seeds=SEEDS, log_every=5_000, eval_every=10_000, eval_episodes=10,
               label=env.removeprefix("gym:"))


def one_seed(run: Run) -> Run:
    """--quick keeps the budget (a shorter SAC run says little about SAC) and trains only the first seed."""
    return dataclasses.replace(run, seeds=QUICK_SEEDS)


def describe(runs: tuple[Run, ...]) -> str:
    first = runs[0]
    seeds = ", ".join(str(s) for s in first.seeds)
    return (f"SAC (agent defaults: 256-256 networks, batch 256, one update per env step, 5,000 uniform random "
            f"steps first) on {len(runs)} gymnasium MuJoCo tasks, {first.total_steps:,} env steps per run, "
            f"seed{'s' if len(first.seeds) > 1 else ''} {seeds}; logged every {first.log_every:,} steps, "
            f"evaluated every {first.eval_every:,} with {first.eval_episodes} deterministic episodes. "
            "A tenth of the usual 1M-step budget: early-training returns. Every env step after the random ones "
            "is one SAC update, so steps/s is updates/s too.\n")


SUITE = TrainingSuite(tuple(sac_run(env) for env in ENVS), quick=one_seed, curves="by-run", describe=describe)
run = SUITE.run

if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("mujoco")
