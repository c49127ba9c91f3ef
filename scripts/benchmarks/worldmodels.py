"""The `worldmodels` suite: does HRSSM keep the task state and drop the distractors better than Dreamer's decoder
RSSM (Sun et al. 2024, "Learning Latent Dynamic Robust Representations for World Models")? Measured at a CPU
budget in two parts, one run.

1. Probes (scripts/fit.py). `pixels:pendulum_swingup` at 32x32 with `distractor=shapes` (6 shapes) and, as the
   control, `none`: 300 episodes x 100 steps of sticky random actions (repeat probability 0.8), the last 50 held
   out; both models fit the same data at the CPU preset (B x T = 8 x 32) with a model learning rate of 1e-3,
   2,000 updates each, seed 0. Probes on the held-out episodes' acting features: ridge R^2 of the task state
   (cos theta, sin theta, theta dot), R^2 of the six shape centres, and the reward head's MSE; and the same two
   quantities in a form a linear probe can be asked for: the state up to its mirror image (cos theta,
   |sin theta|, theta dot sign(sin theta)) and the shapes as a 4 x 4 density map of their centres.
   Pass, on each pair of targets: with shapes, HRSSM's task R^2 >= the RSSM's - 0.02 and its distractor R^2
   <= the RSSM's - 0.2; with none, both task R^2 >= 0.9.
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
# The fits' model learning rate. The CPU preset keeps the official 1e-4 (set for the 512-wide model), with which
# neither model's posterior departs from its prior before about 1,400 (RSSM) and 2,400 (HRSSM) updates; at 1e-3
# the decoder RSSM reads R^2 0.985 of the pendulum after 2,000 (docs/benchmarks/worldmodels/README.md).
FIT_LR = 1e-3


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


FULL = Budget(300, 100, 50, 2000, (0, 1, 2), 1500, 500, 32, 500)
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
            "--lr", str(FIT_LR), "--holdout", str(budget.holdout), "--checkpoint-every", str(budget.updates),
            "--no-progress"]


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
                         "task_state_invariant_r2": evaluation["task_state_invariant_r2"],
                         "task_state_invariant_r2_per_dim":
                             per_dimension(evaluation.get("task_state_invariant_r2_per_dim")),
                         "distractor_features_r2": evaluation["distractor_features_r2"],
                         "reward_mse": evaluation["reward_mse"], "updates_per_s": rate,
                         "fit_seconds": evaluation["fit_seconds"]})
            for picture in evaluation["pictures"]:
                target = f"{Path(picture).stem}_{model}_{distractor}.png"
                shutil.copy(run_dir / picture, out_dir / target)
                pictures.append(target)
    return rows, pictures


# The targets each verdict reads: the exact ones (the pendulum's cos, sin and theta dot; every shape's centre), and the
# same quantities in the form a linear probe of a reward-driven model can be asked for (up to the mirror image;
# the shapes as an order-free density map). docs/benchmarks/worldmodels/README.md says why both are reported.
EXACT_TARGETS = ("task_state_r2", "distractor_state_r2")
READABLE_TARGETS = ("task_state_invariant_r2", "distractor_features_r2")
VERDICTS = {"exact": (EXACT_TARGETS, "On the exact targets (cos, sin, theta dot; each shape's centre)"),
            "readable": (READABLE_TARGETS,
                         "On the readable targets (up to the mirror image; the shapes as a density map)")}


def verdict(rows: list[dict], targets: tuple[str, str] = EXACT_TARGETS) -> tuple[bool, list[str]]:
    """The pass line on the probes `targets` = (task key, distractor key), each condition with its numbers."""
    task, distractor = targets
    get = lambda model, kind: next(r for r in rows if r["model"] == model and r["distractor"] == kind)
    h, r = get("hrssm", "shapes"), get("rssm", "shapes")
    checks = [
        (h[task] >= r[task] - STATE_MARGIN,
         f"shapes, task state kept ({task}): HRSSM {h[task]:.3f} >= RSSM {r[task]:.3f} - {STATE_MARGIN}"),
        (h[distractor] <= r[distractor] - DISTRACTOR_GAP,
         f"shapes, distractors dropped ({distractor}): HRSSM {h[distractor]:.3f} <= RSSM {r[distractor]:.3f} - "
         f"{DISTRACTOR_GAP}"),
    ]
    for model in MODELS:
        value = get(model, "none")[task]
        checks.append((value >= CONTROL_R2, f"none, {model} task state ({task}): {value:.3f} >= {CONTROL_R2}"))
    return all(ok for ok, _ in checks), [f"- {'pass' if ok else 'FAIL'}: {text}" for ok, text in checks]


def dreamer_runs(budget: Budget) -> tuple[Run, ...]:
    options = ("--learning-starts", str(budget.learning_starts), "--updates-per-step", str(1 / budget.train_every),
               "--train-every", str(budget.train_every))
    return tuple(Run("dreamer", env_name("shapes"), budget.dreamer_steps, seeds=budget.seeds,
                     options=(*options, "--world-model", model), log_every=budget.eval_every,
                     eval_every=budget.eval_every, label=f"dreamer-{model} shapes") for model in MODELS)


def markdown(probes: list[dict], verdicts: dict[str, tuple[bool, list[str]]], returns: list[dict],
             pictures: list[str], budget: Budget) -> str:
    shown = [{k: (f"{v:.3f}" if isinstance(v, float) else ("n/a" if v is None else v)) for k, v in row.items()}
             for row in probes]
    updates = (budget.dreamer_steps - budget.learning_starts) // budget.train_every
    parts = [
        f"## Probes\n\n`{TASK}` 32x32, {budget.episodes} episodes x {budget.length} steps of sticky random actions, "
        f"{budget.holdout} held out; CPU preset at lr {FIT_LR:g}, {budget.updates} updates of B x T = 8 x 32, "
        f"seed 0. R^2 from ridge probes on the held-out episodes' acting features (the posterior of each clean "
        f"frame).\n",
        markdown_table(shown),
        *(f"**{title}: {'PASS' if verdicts[name][0] else 'FAIL'}**\n\n" + "\n".join(verdicts[name][1]) + "\n"
          for name, (_, title) in VERDICTS.items()),
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
    verdicts = {name: verdict(probes, targets) for name, (targets, _) in VERDICTS.items()}
    returns, run_dirs = train_all(dreamer_runs(budget), out_dir)
    (out_dir / "probes.json").write_text(json.dumps(
        {"rows": probes, **{name: {"pass": ok, "checks": lines} for name, (ok, lines) in verdicts.items()}},
        indent=1))
    return SuiteResult([*probes, *returns], markdown(probes, verdicts, returns, pictures, budget),
                       run_dirs=run_dirs)


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("worldmodels")
