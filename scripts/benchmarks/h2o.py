"""The `h2o` suite: H2O against its baselines at a CPU budget, on HalfCheetah-v5 as the real system and a
dynamics-shifted copy of it (gravity x2) as the simulator.

1. Real data: SAC (128-128) trained in the real env by scripts/collect.py, whose best snapshot rolls out 10
   episodes with its stochastic policy: a 10k-row dataset, the same file for every method and seed. Two
   datasets, one experiment each: the behaviour SAC trained 15k steps (still close to the random policy on
   HalfCheetah) and trained 40k steps (a low "medium" policy).
2. Four methods, each 15k gradient steps with 128-128 networks (classifiers too) and batch 256, evaluated every
   3k steps with 5 deterministic episodes of the *real* env, seeds 0, 1, 2:
   - **h2o**: 15k sim steps with one update each, batches half real, half sim;
   - **sac-sim**: SAC trained only in the simulator (15k steps, 1k random ones first, then one update per step);
   - **cql-real**: CQL on the real dataset alone (4 sampled actions per source to fit the budget);
   - **naive-mix**: H2O with importance weight 1 and no penalty (SAC on the mixed batches).

The score of a run is the mean real return of its last two evaluations (12k and 15k steps); the table gives
its mean +- std over seeds, D4RL's normalised score of that mean (halfcheetah's references; v5 is only
approximately comparable with D4RL's v2 figures), and in how many seed-paired runs H2O beats the baseline.
On a 2-core CPU both experiments took 73 min, with test runs sharing the cores. `--quick`: one experiment, one
seed, 3k steps on a dataset from 5k SAC steps. Other gaps (e.g. `friction=0.3`) are one entry of
`FULL.experiments` each.

    python scripts/benchmark.py h2o [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from scripts.benchmarks.report import SuiteResult  # noqa: E402
from scripts.benchmarks.training import Run, train_all  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Experiment:
    behaviour_steps: int  # env steps of the SAC whose best snapshot makes the real dataset
    gap: str  # the shift: parameters of the simulator

    @property
    def name(self) -> str:
        return f"{self.gap}, data{self.behaviour_steps // 1000}k"


@dataclasses.dataclass(frozen=True)
class Budget:
    updates: int
    eval_every: int
    seeds: tuple[int, ...]
    experiments: tuple[Experiment, ...]
    dataset_rows: int


FULL = Budget(15_000, 3_000, (0, 1, 2), (Experiment(15_000, "gravity=2.0"), Experiment(40_000, "gravity=2.0")),
              10_000)
QUICK = Budget(3_000, 1_000, (0,), (Experiment(5_000, "gravity=2.0"),), 4_000)
REAL_ENV = "gym:HalfCheetah-v5"
EVAL_EPISODES = 5
LOG_EVERY = 1_000
NETWORKS = ["--hidden", "128", "128"]
DIAGNOSTICS = ("classifier_sa_accuracy", "classifier_sas_accuracy", "sim_weight_mean", "gap_score_mean",
               "q_real", "q_sim")


def collect_dataset(out_dir: Path, behaviour_steps: int, rows: int) -> tuple[str, dict]:
    """A real dataset: (the --dataset string, collect's summary)."""
    from scripts import collect

    summary = collect.main(["--env", REAL_ENV, "--tier", "quick", "--kinds", "expert", "--size", str(rows),
                            "--sac-steps", str(behaviour_steps), "--snapshot-every", "5000", "--eval-episodes", "3",
                            *NETWORKS, "--format", "d4rl", "--out-dir", str(out_dir / f"dataset{behaviour_steps}"),
                            "--no-progress", "--overwrite"])
    return f"d4rl:{summary['datasets']['expert']['d4rl']}", summary


def method_runs(experiment: Experiment, dataset: str, budget: Budget) -> dict[str, Run]:
    sim = f"shift:HalfCheetah-v5?{experiment.gap}"
    common = dict(total_steps=budget.updates, seeds=budget.seeds, log_every=LOG_EVERY, eval_every=budget.eval_every,
                  eval_episodes=EVAL_EPISODES)
    h2o = ["--dataset", dataset, "--eval-env", REAL_ENV, *NETWORKS, "--classifier-hidden", "128", "128"]
    label = lambda method: f"{method} {experiment.name}"
    return {
        "h2o": Run("h2o", sim, options=tuple(h2o), label=label("h2o"), **common),
        # SAC in the simulator reads no dataset: one run per gap, which later experiments find finished.
        "sac-sim": Run("sac", sim, options=("--eval-env", REAL_ENV, "--learning-starts", "1000", *NETWORKS),
                       label=f"sac-sim {experiment.gap}", **common),
        "cql-real": Run("cql", REAL_ENV, options=("--dataset", dataset, "--cql-samples", "4", *NETWORKS),
                        label=label("cql-real"), **common),
        "naive-mix": Run("h2o", sim, options=(*h2o, "--naive-mixing"), label=label("naive-mix"), **common),
    }


def score(run_dir: Path) -> float:
    """Mean real return of the last two evaluations."""
    from core.plotting import curve

    evaluations = sorted(curve(run_dir, "eval_return").items())
    return statistics.mean(value for _, value in evaluations[-2:])


def diagnostics(run_dir: Path, window: int = 5) -> dict[str, float]:
    """H2O's logged diagnostics, averaged over the last `window` log lines that have them."""
    from core.logging import read_metrics

    records = read_metrics(run_dir)
    out = {}
    for name in DIAGNOSTICS:
        values = [r[name] for r in records if name in r][-window:]
        if values:
            out[name] = statistics.mean(values)
    return out


def paired_wins(ours: list[float], theirs: list[float]) -> int:
    return sum(a > b for a, b in zip(ours, theirs, strict=True))


def experiment_rows(experiment: str, scores: dict[str, list[float]], h2o_diagnostics: dict[str, float]) -> list[dict]:
    from core.datasets import normalized_score

    rows = []
    for method, values in scores.items():
        mean = statistics.mean(values)
        row = {"experiment": experiment, "method": method, "return_mean": mean,
               "return_std": statistics.pstdev(values), "normalized_score": normalized_score(REAL_ENV, mean),
               "per_seed": values}
        if method != "h2o":
            row["h2o_wins"] = paired_wins(scores["h2o"], values)
        rows.append(row)
    rows[0].update(h2o_diagnostics)
    return rows


def verdict(rows: list[dict]) -> str:
    h2o = rows[0]
    seeds = len(h2o["per_seed"])
    needed = min(2, seeds)
    beaten = [r for r in rows[1:] if h2o["return_mean"] > r["return_mean"] and r["h2o_wins"] >= needed]
    missed = [r["method"] for r in rows[1:] if r not in beaten]
    if not missed:
        return f"H2O beats every baseline in mean and in at least {needed} of {seeds} seed-paired runs."
    return f"H2O does NOT beat {', '.join(missed)} in mean and in {needed} of {seeds} seed-paired runs at this budget."


def markdown(rows: list[dict], budget: Budget, datasets: dict[str, dict]) -> str:
    lines = [f"Real env {REAL_ENV}; simulator `shift:HalfCheetah-v5?GAP`. Real data: {budget.dataset_rows:,} rows "
             f"from the best snapshot of a SAC (128-128) trained in the real env, stochastic policy. Every "
             f"method: {budget.updates:,} gradient steps, 128-128 networks, batch 256, {EVAL_EPISODES} "
             f"deterministic real-env episodes every {budget.eval_every:,} steps, seeds "
             f"{', '.join(map(str, budget.seeds))}. Return: mean real return of the last two evaluations, mean "
             f"+- std over seeds; score: D4RL-normalised (halfcheetah).\n"]
    for experiment, summary in datasets.items():
        group = [r for r in rows if r["experiment"] == experiment]
        lines += [f"\n### {experiment}\n",
                  f"Dataset: behaviour return {summary['expert_return']:.0f} (its snapshot at step "
                  f"{summary['expert_step']:,}), uniform-random return {summary['random_return']:.0f}.\n",
                  "| method | return | normalised score | per seed | H2O wins (paired) |", "|---|---|---|---|---|"]
        for r in group:
            wins = f"{r['h2o_wins']}/{len(r['per_seed'])}" if "h2o_wins" in r else "-"
            per_seed = ", ".join(f"{v:.0f}" for v in r["per_seed"])
            lines.append(f"| {r['method']} | {r['return_mean']:.0f} +- {r['return_std']:.0f} | "
                         f"{r['normalized_score']:.1f} | {per_seed} | {wins} |")
        h2o = group[0]
        shown = ", ".join(f"{name} {h2o[name]:.3g}" for name in DIAGNOSTICS if name in h2o)
        lines += ["", f"H2O diagnostics (last 5 log lines, mean over seeds): {shown}.", "", verdict(group)]
    lines.append("\n![real-env return](learning_curves.png)\n")
    return "\n".join(lines) + "\n"


def plot(curves: dict[str, dict[str, list[Path]]], path: Path) -> None:
    """One panel per experiment: each method's real-env evaluation return against gradient steps, mean and
    min-max over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from core.plotting import curve, pool

    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 3.8), squeeze=False)
    for ax, (experiment, by_method) in zip(axes[0], curves.items()):
        for method, dirs in by_method.items():
            steps, mean, low, high = pool([curve(d, "eval_return") for d in dirs])
            (line,) = ax.plot(steps, mean, marker="o", markersize=3, label=method)
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.15)
        ax.set_title(f"real HalfCheetah-v5; simulator {experiment}", fontsize=9)
        ax.set_xlabel("gradient steps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("real-env return")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(out_dir: Path, quick: bool = False) -> SuiteResult:
    out_dir = Path(out_dir)
    budget = QUICK if quick else FULL
    rows, curves, datasets = [], {}, {}
    for experiment in budget.experiments:
        dataset, datasets[experiment.name] = collect_dataset(out_dir, experiment.behaviour_steps,
                                                             budget.dataset_rows)
        runs = method_runs(experiment, dataset, budget)
        _, run_dirs = train_all(tuple(runs.values()), out_dir)
        dirs = {method: run_dirs[method_run.name] for method, method_run in runs.items()}
        scores = {method: [score(d) for d in method_dirs] for method, method_dirs in dirs.items()}
        h2o_diagnostics = _mean_dicts([diagnostics(d) for d in dirs["h2o"]])
        rows += experiment_rows(experiment.name, scores, h2o_diagnostics)
        curves[experiment.name] = dirs
    plot(curves, out_dir / "learning_curves.png")
    return SuiteResult(rows, markdown(rows, budget, datasets))


def _mean_dicts(dicts: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.mean(d[name] for d in dicts) for name in dicts[0]}


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("h2o")
