"""The `worldmodels` suite: does HRSSM keep the task state and drop the distractors better than Dreamer's decoder
RSSM (Sun et al. 2024, "Learning Latent Dynamic Robust Representations for World Models")? Measured at a CPU
budget in two parts, one run.

1. Probes (scripts/fit.py). `pixels:pendulum_swingup` at 32x32 with `distractor=shapes` (6 shapes) and, as the
   control, `none`: 300 episodes x 100 steps of sticky random actions (repeat probability 0.8), the last 50 held
   out; both models fit the same data at the CPU preset (B x T = 8 x 32), 500 updates each, seed 0. Probes on
   the held-out episodes' acting features: ridge R^2 of the task state (cos theta, sin theta, theta dot), R^2 of
   the six shape centres, and the reward head's MSE.
   Pass: with shapes, HRSSM's task R^2 >= the RSSM's - 0.02 and its distractor R^2 <= the RSSM's - 0.2; with
   none, both task R^2 >= 0.9.
2. Returns (scripts/train.py). `--agent dreamer` with each world model on
   `pixels:pendulum_swingup?distractor=shapes`, seeds 0, 1, 2, at a CPU budget: 1,500 env steps, the first 500
   random, then one update every 32 env steps (31 updates), evaluated every 500 steps (10 episodes). On a shared
   2-core CPU each run costs minutes of compilation before its first update, and a Dreamer update (world model,
   imagination, actor and critic) about a second, so a budget this small says whether the agent runs end to end
   and where its return starts, not which model learns the better policy.

`--quick`: 60 episodes x 50 steps (10 held out) and 100 updates per model; one seed of 1,000 env steps.

    python scripts/benchmark.py worldmodels [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from scripts.benchmarks.report import SuiteResult, markdown_table  # noqa: E402
from scripts.benchmarks.training import Run, train_all  # noqa: E402

TASK = "pixels:pendulum_swingup"
DISTRACTORS = ("shapes", "none")
MODELS = ("hrssm", "rssm")
STATE_MARGIN = 0.02  # HRSSM's task R^2 may fall this far below the RSSM's
DISTRACTOR_GAP = 0.2  # HRSSM's distractor R^2 must be at least this much below the RSSM's
CONTROL_R2 = 0.9  # without distractors, both models' task R^2 must reach this


@dataclasses.dataclass(frozen=True)
class Budget:
    episodes: int
    length: int
    holdout: int
    updates: int
    seeds: tuple[int, ...]
    dreamer_steps: int
    learning_starts: int
    train_every: int
    eval_every: int


FULL = Budget(300, 100, 50, 500, (0, 1, 2), 1500, 500, 32, 500)
QUICK = Budget(60, 50, 10, 100, (0,), 1000, 500, 32, 500)


def env_name(distractor: str) -> str:
    return f"{TASK}?distractor={distractor}" + ("&num_shapes=6" if distractor == "shapes" else "")


def collect_data(out_dir: Path, distractor: str, budget: Budget) -> Path:
    """One dataset per distractor, saved once, that both models fit."""
    from worldmodels import episodes
    from worldmodels.collection import collect

    path = out_dir / "data" / f"{distractor}.npz"
    if not path.exists():
        episodes.save(collect(env_name(distractor), budget.episodes, budget.length, 0.8, 0), path)
    return path


def fit_argv(model: str, data: Path, run_dir: Path, budget: Budget) -> list[str]:
    return ["--model", model, "--data", str(data), "--run-dir", str(run_dir), "--updates", str(budget.updates),
            "--holdout", str(budget.holdout), "--checkpoint-every", str(budget.updates), "--no-progress"]


def per_dimension(scores: list | None) -> str | None:
    """The per-dimension R^2 as one cell, e.g. "0.99 / 0.08 / 0.23" (the pendulum's cos, sin, theta dot)."""
    return None if scores is None else " / ".join("-" if v is None else f"{v:.2f}" for v in scores)


def probe_rows(out_dir: Path, budget: Budget) -> tuple[list[dict], list[str]]:
    """Fit both models on both datasets; one row each, and the pictures copied next to the report."""
    from scripts import fit

    rows, pictures = [], []
    for distractor in DISTRACTORS:
        data = collect_data(out_dir, distractor, budget)
        for model in MODELS:
            run_dir = out_dir / "runs" / f"fit-{model}-{distractor}"
            evaluation = fit.main(fit_argv(model, data, run_dir, budget))
            rate = evaluation["final_metrics"].get("updates_per_second", float("nan"))
            rows.append({"model": model, "distractor": distractor, "updates": evaluation["updates"],
                         "task_state_r2": evaluation["task_state_r2"],
                         "task_state_r2_per_dim": per_dimension(evaluation.get("task_state_r2_per_dim")),
                         "distractor_state_r2": evaluation["distractor_state_r2"],
                         "reward_mse": evaluation["reward_mse"], "updates_per_s": rate,
                         "fit_seconds": evaluation["fit_seconds"]})
            for picture in evaluation["pictures"]:
                target = f"{Path(picture).stem}_{model}_{distractor}.png"
                shutil.copy(run_dir / picture, out_dir / target)
                pictures.append(target)
    return rows, pictures


def verdict(rows: list[dict]) -> tuple[bool, list[str]]:
    """The pass line, each condition with its measured numbers."""
    get = lambda model, distractor: next(r for r in rows if r["model"] == model and r["distractor"] == distractor)
    h, r = get("hrssm", "shapes"), get("rssm", "shapes")
    checks = [
        (h["task_state_r2"] >= r["task_state_r2"] - STATE_MARGIN,
         f"shapes, task state kept: HRSSM {h['task_state_r2']:.3f} >= RSSM {r['task_state_r2']:.3f} - "
         f"{STATE_MARGIN}"),
        (h["distractor_state_r2"] <= r["distractor_state_r2"] - DISTRACTOR_GAP,
         f"shapes, distractors dropped: HRSSM {h['distractor_state_r2']:.3f} <= RSSM "
         f"{r['distractor_state_r2']:.3f} - {DISTRACTOR_GAP}"),
    ]
    for model in MODELS:
        value = get(model, "none")["task_state_r2"]
        checks.append((value >= CONTROL_R2, f"none, {model} task state: {value:.3f} >= {CONTROL_R2}"))
    return all(ok for ok, _ in checks), [f"- {'pass' if ok else 'FAIL'}: {text}" for ok, text in checks]


def dreamer_runs(budget: Budget) -> tuple[Run, ...]:
    options = ("--learning-starts", str(budget.learning_starts), "--updates-per-step", str(1 / budget.train_every),
               "--train-every", str(budget.train_every))
    return tuple(Run("dreamer", env_name("shapes"), budget.dreamer_steps, seeds=budget.seeds,
                     options=(*options, "--world-model", model), log_every=budget.eval_every,
                     eval_every=budget.eval_every, label=f"dreamer-{model} shapes") for model in MODELS)


def markdown(probes: list[dict], passed: bool, lines: list[str], returns: list[dict], pictures: list[str],
             budget: Budget) -> str:
    shown = [{k: (f"{v:.3f}" if isinstance(v, float) else ("n/a" if v is None else v)) for k, v in row.items()}
             for row in probes]
    updates = (budget.dreamer_steps - budget.learning_starts) // budget.train_every
    parts = [
        f"## Probes\n\n`{TASK}` 32x32, {budget.episodes} episodes x {budget.length} steps of sticky random actions, "
        f"{budget.holdout} held out; CPU preset, {budget.updates} updates of B x T = 8 x 32, seed 0. R^2 from "
        f"ridge probes on the held-out episodes' acting features (the posterior of each clean frame).\n",
        markdown_table(shown),
        f"**{'PASS' if passed else 'FAIL'}**\n\n" + "\n".join(lines) + "\n",
        "\n".join(f"![{p}]({p})" for p in pictures) + "\n",
        f"## Dreamer returns\n\n`--agent dreamer` on `{env_name('shapes')}`, {budget.dreamer_steps} env steps "
        f"({budget.learning_starts} random, then one update every {budget.train_every} steps: about {updates} "
        f"updates), seeds {', '.join(map(str, budget.seeds))}.\n",
        markdown_table(returns),
    ]
    return "\n".join(parts)


def run(out_dir: Path, quick: bool = False) -> SuiteResult:
    budget = QUICK if quick else FULL
    out_dir = Path(out_dir)
    probes, pictures = probe_rows(out_dir, budget)
    passed, lines = verdict(probes)
    returns, run_dirs = train_all(dreamer_runs(budget), out_dir)
    (out_dir / "probes.json").write_text(json.dumps({"rows": probes, "pass": passed, "checks": lines}, indent=1))
    return SuiteResult([*probes, *returns], markdown(probes, passed, lines, returns, pictures, budget),
                       run_dirs=run_dirs)


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("worldmodels")
