"""The `hybrid` suite: the hybrid offline + online agents against each other and their baselines at a CPU budget.

1. **HalfCheetah-v5 with a medium dataset.** scripts/collect.py trains SAC (128-128) for 60k steps in the env and
   keeps the rollouts of its first snapshot that reaches a third of the way from the random return to the best
   snapshot's: a 20k-row "medium" dataset, the same file for every method and seed. Then each method gets
   20k online env steps (CQL: 20k gradient steps and no env step), 128-128 networks where it has a SAC-style
   critic, batch 256, 5 deterministic episodes every 2k steps, seeds 0, 1, 2:
   - **moorl**: K = 5 inner steps, meta step 0.5, p_off 0.5, online buffer choosable after 2k transitions,
     reading B (update-to-data ratio 1);
   - **moorl-k1**: K = 1, meta step 1: SAC alternating between the buffers, without the meta step;
   - **hnpg**: HNPG's MuJoCo mode (one policy and critic, offline data in the critic's fit and the NPG batch),
     one iteration per evaluation interval (4 envs x 500 steps);
   - **h2o-unshifted**: H2O with the real env itself as its simulator;
   - **sac**: SAC from scratch, 2k uniform-random steps first;
   - **sac-mix**: SAC on half offline, half online minibatches (offline only until 2k online transitions);
   - **cql-offline**: CQL on the dataset alone.
   A run's score is the D4RL-normalised return (halfcheetah's references; v5 is only approximately comparable
   with D4RL's v2 figures) averaged over its last three evaluations; the table gives the mean +- std over seeds
   and in how many seed-paired runs MOORL beats each method. MOORL logs its meta critic's mean Q on 1,000 offline
   and 1,000 online transitions next to their discounted Monte-Carlo returns (core/return_probe.py) at every
   evaluation: the paper claims MOORL's Q-values stay stable.
2. **The combination lock** (scripts/benchmarks/hybrid_lock.py): online samples until HNPG, with and without
   offline data, solves the lock.

`--quick`: a dataset from 5k SAC steps, every method 2k steps with one seed, and the lock's quick form.

    python scripts/benchmark.py hybrid [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from scripts.benchmarks.report import SuiteResult  # noqa: E402
from scripts.benchmarks.training import Run, train_all  # noqa: E402

ENV = "gym:HalfCheetah-v5"
NETWORKS = ("--hidden", "128", "128")
EVAL_EPISODES = 5
LOG_EVERY = 1_000
LAST_EVALUATIONS = 3  # a run's score: the mean normalised score of its last three evaluations
Q_PROBES = ("q_offline", "mc_return_offline", "q_online", "mc_return_online")


@dataclasses.dataclass(frozen=True)
class Budget:
    sac_steps: int  # of the SAC whose snapshots make the dataset
    snapshot_every: int
    dataset_rows: int
    online_steps: int
    eval_every: int
    warmup_on: int
    seeds: tuple[int, ...]


FULL = Budget(60_000, 5_000, 20_000, 20_000, 2_000, 2_000, (0, 1, 2))
QUICK = Budget(5_000, 1_000, 4_000, 2_000, 1_000, 500, (0,))


def collect_dataset(out_dir: Path, budget: Budget) -> tuple[str, dict]:
    """The medium dataset (the --dataset string, collect's summary), made once per report directory."""
    from scripts import collect

    data_dir = out_dir / "dataset"
    summary_path = data_dir / "summary.json"
    if summary_path.exists():  # a rerun of an interrupted suite: the dataset is already there
        summary = json.loads(summary_path.read_text())
    else:
        summary = collect.main(["--env", ENV, "--tier", "quick", "--kinds", "medium", "--size",
                                str(budget.dataset_rows), "--sac-steps", str(budget.sac_steps), "--snapshot-every",
                                str(budget.snapshot_every), "--eval-episodes", "5", *NETWORKS, "--format", "d4rl",
                                "--out-dir", str(data_dir), "--seed", "0", "--no-progress"])
        summary_path.write_text(json.dumps(summary, indent=1, default=str))
    return f"d4rl:{summary['datasets']['medium']['d4rl']}", summary


def method_runs(dataset: str, budget: Budget) -> dict[str, Run]:
    common = dict(total_steps=budget.online_steps, seeds=budget.seeds, log_every=LOG_EVERY,
                  eval_every=budget.eval_every, eval_episodes=EVAL_EPISODES)
    data = ("--dataset", dataset)
    warmup = ("--warmup-on", str(budget.warmup_on))
    runs = {
        "moorl": Run("moorl", ENV, options=(*data, *NETWORKS, *warmup, "--inner-steps", "5", "--meta-step", "0.5",
                                            "--p-off", "0.5"), **common),
        "moorl-k1": Run("moorl", ENV, options=(*data, *NETWORKS, *warmup, "--inner-steps", "1", "--meta-step",
                                               "1.0"), **common),
        # 4 envs x 500 steps: an iteration of eval_every env steps, so HNPG is evaluated when the others are.
        "hnpg": Run("hnpg", ENV, options=(*data, "--num-envs", "4", "--num-steps", str(budget.eval_every // 4)),
                    **{**common, "log_every": budget.eval_every}),
        "h2o-unshifted": Run("h2o", ENV, options=(*data, *NETWORKS, "--classifier-hidden", "128", "128"), **common),
        "sac": Run("sac", ENV, options=(*NETWORKS, "--learning-starts", str(budget.warmup_on)), **common),
        "sac-mix": Run("sac-mix", ENV, options=(*data, *NETWORKS, *warmup), **common),
        "cql-offline": Run("cql", ENV, options=(*data, *NETWORKS, "--cql-samples", "4"), **common),
    }
    return {method: dataclasses.replace(run, label=method) for method, run in runs.items()}


# Env steps and gradient steps of each method per run, in words (the budgets differ by design).
ACCOUNTING = {
    "moorl": "N env, N gradient (N/5 meta-iterations)",
    "moorl-k1": "N env, N gradient",
    "hnpg": "N env; per iteration (one evaluation interval of env steps) 100 critic steps and one NPG step",
    "h2o-unshifted": "N env, N gradient",
    "sac": "N env, N - warm-up gradient",
    "sac-mix": "N env, N gradient",
    "cql-offline": "0 env, N gradient",
}


def score(run_dir: Path) -> float:
    """Mean normalised score of the last LAST_EVALUATIONS evaluations."""
    from core.plotting import curve

    evaluations = sorted(curve(run_dir, "eval_normalized_score").items())
    return statistics.mean(value for _, value in evaluations[-LAST_EVALUATIONS:])


def q_curves(run_dirs: list[Path]) -> dict[str, dict[int, float]]:
    """Each Q probe's value per evaluation step, averaged over the runs that logged it."""
    from core.plotting import curve, pool

    out = {}
    for name in Q_PROBES:
        curves = [c for c in (curve(d, f"eval_{name}") for d in run_dirs) if c]
        if curves:
            steps, mean, _, _ = pool(curves)
            out[name] = dict(zip(steps, mean, strict=True))
    return out


def cheetah_rows(scores: dict[str, list[float]]) -> list[dict]:
    rows = []
    for method, values in scores.items():
        row = {"experiment": "halfcheetah-medium", "method": method, "score_mean": statistics.mean(values),
               "score_std": statistics.pstdev(values), "per_seed": values, "budget": ACCOUNTING[method]}
        if method != "moorl":
            row["moorl_wins"] = sum(a > b for a, b in zip(scores["moorl"], values, strict=True))
        rows.append(row)
    return rows


def verdict(rows: list[dict]) -> str:
    """The small-budget claim: MOORL above SAC from scratch in every seed, and not below SAC-mix on average."""
    by_method = {r["method"]: r for r in rows}
    moorl, sac, mix = by_method["moorl"], by_method["sac"], by_method["sac-mix"]
    seeds = len(moorl["per_seed"])
    above_sac = sac["moorl_wins"] == seeds
    not_below_mix = moorl["score_mean"] >= mix["score_mean"]
    parts = [f"MOORL {'beats' if above_sac else 'does NOT beat'} SAC from scratch in {sac['moorl_wins']}/{seeds} "
             f"seeds", f"{'is not below' if not_below_mix else 'is BELOW'} SAC-mix on average "
             f"({moorl['score_mean']:.1f} vs {mix['score_mean']:.1f})"]
    return "; ".join(parts) + "."


def cheetah_markdown(rows: list[dict], budget: Budget, summary: dict, q: dict[str, dict[int, float]]) -> str:
    medium = summary["datasets"]["medium"]
    lines = ["### HalfCheetah-v5, medium dataset\n",
             f"Dataset: {medium['rows']:,} rows, {medium['episodes']} episodes, from the snapshot at step "
             f"{summary['medium_step']:,} of a SAC (128-128) trained {budget.sac_steps:,} steps: behaviour return "
             f"{medium['behaviour_return']:.0f}, where the random policy scores {summary['random_return']:.0f} and "
             f"the best snapshot (step {summary['expert_step']:,}) {summary['expert_return']:.0f}. "
             f"Every method: N = {budget.online_steps:,} steps, {EVAL_EPISODES} "
             f"deterministic episodes every {budget.eval_every:,} steps, seeds {', '.join(map(str, budget.seeds))}. "
             f"Score: D4RL-normalised return, mean of the last {LAST_EVALUATIONS} evaluations, mean +- std over "
             f"seeds.\n",
             "| method | score | per seed | MOORL wins (paired) | budget |", "|---|---|---|---|---|"]
    for r in rows:
        wins = f"{r['moorl_wins']}/{len(r['per_seed'])}" if "moorl_wins" in r else "-"
        per_seed = ", ".join(f"{v:.1f}" for v in r["per_seed"])
        lines.append(f"| {r['method']} | {r['score_mean']:.1f} +- {r['score_std']:.1f} | {per_seed} | {wins} | "
                     f"{r['budget']} |")
    lines += ["", verdict(rows), ""]
    if q:
        steps = sorted(set().union(*(c.keys() for c in q.values())))
        lines += ["MOORL's mean Q of its meta critic next to discounted Monte-Carlo returns of the same transitions "
                  "(mean over seeds; offline: 1,000 dataset transitions at least 459 steps before their episode's "
                  "time limit; online: as many of its own finished episodes' transitions):\n",
                  "| step | " + " | ".join(Q_PROBES) + " |", "|---" * (len(Q_PROBES) + 1) + "|"]
        for step in steps:
            cells = [_number(q.get(name, {}).get(step)) for name in Q_PROBES]
            lines.append(f"| {step:,} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("![normalised score over online steps](hybrid_curves.png)\n")
    return "\n".join(lines)


def plot(dirs: dict[str, list[Path]], q: dict[str, dict[int, float]], path: Path) -> None:
    """Left: each method's normalised score over steps, mean and min-max over seeds. Right: MOORL's Q next to
    Monte-Carlo returns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from core.plotting import curve, pool

    fig, (scores_ax, q_ax) = plt.subplots(1, 2, figsize=(11.5, 4))
    for method, method_dirs in dirs.items():
        steps, mean, low, high = pool([curve(d, "eval_normalized_score") for d in method_dirs])
        (line,) = scores_ax.plot(steps, mean, marker="o", markersize=3, label=method)
        scores_ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.12)
    scores_ax.set(title="HalfCheetah-v5, medium dataset", xlabel="steps (env steps; CQL: gradient steps)",
                  ylabel="D4RL-normalised score")
    for name, values in q.items():
        steps = sorted(values)
        style = "-" if name.startswith("q_") else "--"
        q_ax.plot(steps, [values[s] for s in steps], style, marker="o", markersize=3, label=name)
    q_ax.set(title="MOORL: mean Q vs Monte-Carlo return", xlabel="env steps")
    for ax in (scores_ax, q_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(out_dir: Path, quick: bool = False) -> SuiteResult:
    from scripts.benchmarks.hybrid_lock import lock_experiment

    out_dir = Path(out_dir)
    budget = QUICK if quick else FULL
    dataset, summary = collect_dataset(out_dir, budget)
    runs = method_runs(dataset, budget)
    _, run_dirs = train_all(tuple(runs.values()), out_dir)
    dirs = {method: run_dirs[r.name] for method, r in runs.items()}
    rows = cheetah_rows({method: [score(d) for d in method_dirs] for method, method_dirs in dirs.items()})
    q = q_curves(dirs["moorl"])
    plot(dirs, q, out_dir / "hybrid_curves.png")
    lock = lock_experiment(out_dir / "lock", quick)
    markdown = cheetah_markdown(rows, budget, summary, q) + "\n" + lock["markdown"]
    return SuiteResult(rows + lock["rows"], markdown)


def _number(value) -> str:
    return "-" if value is None else f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("hybrid")
