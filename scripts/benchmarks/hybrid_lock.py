"""The combination lock part of the `hybrid` suite: online samples until HNPG opens the lock, with offline data
(HNPG) and without (--no-hybrid, plain NPG), as in Zhou, Sekhari, Song, Sun, "Offline Data Enhanced On-Policy
Policy Gradient with Provable Guarantees" (arXiv 2311.08384).

For each seed s: the lock `jax:CombinationLock-v0?horizon=H&lock_seed=s` (H = 20, d = 32; then H = 10 with a
cap of 300 iterations), a dataset of 10,000
epsilon-greedy episodes (epsilon = 1/H) from scripts/collect.py --lock-episodes, then both methods trained
through scripts/train.py (so every run is logged and resumes where it stopped), 1,000 online samples per
iteration (1,000 / H envs x one episode of H steps), evaluated after every iteration on 30 stochastic episodes, which
are not counted as samples. The measure: online samples until the moving average of the evaluation success rate
over the last 50 iterations first exceeds 0.5 (None: never within the cap), and the final success rate.

The H = 20 cap is 500 iterations (500k online samples; the authors' code runs 1,500). Measured on this
2-core machine at a load of ~1.5:
after a first iteration that compiles (~35 s with offline data, ~12 s without), an iteration with its evaluation
takes 0.16 s with offline data and 0.06 s without, so the six full runs take ~8 min plus ~15 s of data
collection per seed (several times that while other jobs load the machine: 0.6 s / 0.35 s per iteration were
measured at a load of ~10; the committed report's six H = 20 runs took 26.5 min and its six H = 10 runs 26 min
at a load of 6-9). Quick mode: H = 5, 1,000 episodes, 30 iterations, a moving average over 5,
seed 0.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from pathlib import Path

from scripts.benchmarks.training import Run, train_all

SAMPLES_PER_ITERATION = 1_000
EVAL_EPISODES = 30
SUCCESS = 0.5  # the moving average of the evaluation success rate must exceed this
METHODS = ("hnpg", "npg")


@dataclasses.dataclass(frozen=True)
class LockBudget:
    horizon: int
    episodes: int  # of the epsilon-greedy dataset, per seed
    iterations: int
    window: int  # iterations in the moving average
    seeds: tuple[int, ...]


# The paper's setting shortened to this CPU (H = 20, 10k episodes, 500 iterations), and a shorter lock beside it,
# so the table also shows a horizon at which the offline data does carry HNPG where NPG stays at zero.
FULL = (LockBudget(horizon=20, episodes=10_000, iterations=500, window=50, seeds=(0, 1, 2)),
        LockBudget(horizon=10, episodes=10_000, iterations=300, window=50, seeds=(0, 1, 2)))
QUICK = (LockBudget(horizon=5, episodes=1_000, iterations=30, window=5, seeds=(0,)),)


def lock_env(budget: LockBudget, seed: int) -> str:
    return f"jax:CombinationLock-v0?horizon={budget.horizon}&lock_seed={seed}"


def lock_dataset(out_dir: Path, budget: LockBudget, seed: int) -> str:
    """The seed's epsilon-greedy dataset (the --dataset string), collected once per report directory."""
    from scripts import collect

    data_dir = out_dir / "data" / f"seed{seed}"
    summary_path = data_dir / "summary.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
    else:
        summary = collect.main(["--env", lock_env(budget, seed), "--lock-episodes", str(budget.episodes),
                                "--format", "d4rl", "--out-dir", str(data_dir), "--seed", str(seed), "--no-progress"])
        summary_path.write_text(json.dumps(summary, indent=1, default=str))
    return f"d4rl:{summary['datasets']['eps-greedy']['d4rl']}"


def lock_runs(out_dir: Path, budget: LockBudget) -> dict[tuple[str, int], Run]:
    """(method, seed) -> its training run; each seed has its own lock, so each run has one seed."""
    shape = ("--num-envs", str(SAMPLES_PER_ITERATION // budget.horizon), "--num-steps", str(budget.horizon),
             "--no-eval-deterministic")
    runs = {}
    for seed in budget.seeds:
        common = dict(env=lock_env(budget, seed), total_steps=budget.iterations * SAMPLES_PER_ITERATION,
                      seeds=(seed,), log_every=SAMPLES_PER_ITERATION, eval_every=SAMPLES_PER_ITERATION,
                      eval_episodes=EVAL_EPISODES, checkpoint_every=SAMPLES_PER_ITERATION * 25)
        data = ("--dataset", lock_dataset(out_dir, budget, seed))
        runs["hnpg", seed] = Run("hnpg", options=(*data, *shape), label=f"lock-hnpg-seed{seed}", **common)
        runs["npg", seed] = Run("hnpg", options=("--no-hybrid", *shape), label=f"lock-npg-seed{seed}", **common)
    return runs


def samples_to_success(curve: dict[int, float], window: int) -> int | None:
    """Online samples at the first evaluation where the mean success rate of the last `window` evaluations
    exceeds SUCCESS; None if that never happens."""
    steps = sorted(curve)
    for i in range(window - 1, len(steps)):
        if statistics.mean(curve[s] for s in steps[i - window + 1: i + 1]) > SUCCESS:
            return steps[i]
    return None


def lock_experiment(out_dir: Path, quick: bool) -> dict:
    """Every horizon of the (quick or full) budgets, each in its folder `out_dir/H{horizon}` -> {"horizons":
    horizon -> lock_horizon's result, "rows": all their rows, "markdown": their tables}."""
    results = {budget.horizon: lock_horizon(Path(out_dir) / f"H{budget.horizon}", budget)
               for budget in (QUICK if quick else FULL)}
    return {"horizons": results, "rows": [row for r in results.values() for row in r["rows"]],
            "markdown": "\n".join(r["markdown"] for r in results.values())}


def lock_horizon(out_dir: Path, budget: LockBudget) -> dict:
    """Train both methods on every seed's lock of one horizon -> {"results": method -> seed ->
    {samples_to_success, final_success_rate, curve (online samples -> success rate)}, "rows": one per method,
    "markdown": a table, "budget": the budget used}."""
    from core.plotting import curve

    runs = lock_runs(out_dir, budget)
    _, run_dirs = train_all(tuple(runs.values()), out_dir)
    results: dict[str, dict[int, dict]] = {method: {} for method in METHODS}
    for (method, seed), run in runs.items():
        rates = curve(run_dirs[run.name][0], "eval_success_rate")
        results[method][seed] = {"samples_to_success": samples_to_success(rates, budget.window),
                                 "final_success_rate": rates[max(rates)] if rates else None, "curve": rates}
    rows = [method_row(method, results[method], budget) for method in METHODS]
    return {"results": results, "rows": rows, "markdown": lock_markdown(rows, budget),
            "budget": dataclasses.asdict(budget)}


def method_row(method: str, per_seed: dict[int, dict], budget: LockBudget) -> dict:
    reached = [r["samples_to_success"] for r in per_seed.values() if r["samples_to_success"] is not None]
    finals = [r["final_success_rate"] for r in per_seed.values() if r["final_success_rate"] is not None]
    return {"experiment": f"lock-H{budget.horizon}", "method": method, "solved": len(reached),
            "seeds": len(per_seed), "samples_to_success_mean": statistics.mean(reached) if reached else None,
            "samples_to_success": [r["samples_to_success"] for r in per_seed.values()],
            "final_success_rate_mean": statistics.mean(finals) if finals else None,
            "cap_samples": budget.iterations * SAMPLES_PER_ITERATION}


def lock_markdown(rows: list[dict], budget: LockBudget) -> str:
    lines = [f"### Combination lock, H = {budget.horizon}",
             "",
             f"{budget.episodes:,} epsilon-greedy episodes per seed (epsilon = 1/H), {SAMPLES_PER_ITERATION:,} "
             f"online samples per iteration, at most {budget.iterations} iterations; success: the mean "
             f"evaluation success rate ({EVAL_EPISODES} stochastic episodes per iteration) over the last "
             f"{budget.window} iterations exceeds {SUCCESS}.",
             "",
             "| method | solved | online samples to success (per seed) | mean | final success rate |",
             "|---|---|---|---|---|"]
    for r in rows:
        per_seed = ", ".join("never" if s is None else f"{s:,}" for s in r["samples_to_success"])
        mean = "-" if r["samples_to_success_mean"] is None else f"{r['samples_to_success_mean']:,.0f}"
        final = "-" if r["final_success_rate_mean"] is None else f"{r['final_success_rate_mean']:.2f}"
        lines.append(f"| {r['method']} | {r['solved']}/{r['seeds']} | {per_seed} | {mean} | {final} |")
    return "\n".join(lines) + "\n"
