"""The `metra` suite: METRA's state coverage and zero-shot goal reaching at a CPU budget, against DIAYN and random
actions, on the point mass `jax:PointPlane-v0`, plus METRA against random actions on `brax:ant`.

1. Point mass (p' = p + 0.5 a, 50-step episodes, reachable box +-25): METRA and DIAYN with 2-D continuous skills,
   8 episodes per epoch side by side, 50 gradient steps per epoch, updates from 2,000 transitions, 128-128
   networks (tanh actor), Adam 3e-4, 600 epochs (240k env steps, 30k gradient steps), seeds 0, 1, 2, evaluated
   every 40k env steps. **random** is METRA whose warm-up of uniform random actions lasts the whole run, so its
   total coverage is a uniform random policy's over the same env steps.
   - policy coverage: distinct 1x1 cells visited by 48 deterministic skill rollouts (random: the same 48
     rollouts of the uniform random policy);
   - total coverage: distinct cells over every state of training (the replay holds them all);
   - zero-shot goals: 50 goals uniform in [-15, 15]^2, success if the final distance is below 1.5 (DIAYN: the
     skill is the mean of q(z | goal)).
   Pass: in every seed METRA's policy coverage beats DIAYN's and random's, and its goal success is at least 0.5
   and above DIAYN's.
2. `brax:ant` (the preset keeps x, y in the observation, 200-step episodes, no termination): METRA, 128-128
   networks, 50 gradient steps per epoch (the paper's G), updates from 9,600 transitions, 300 epochs (480k env
   steps, 15k gradient steps: minutes per seed on this CPU, since the rollout is jitted), seeds 0, 1, 2,
   evaluated every 80k env steps; its policy coverage against the uniform random policy's, over training.

`--quick`: the point mass at 40 epochs with one seed, the ant at 8 epochs with one seed. The skill pictures of
seed 0 are copied next to the report (`skills_<run>.png`).

    python scripts/benchmark.py metra [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from scripts.benchmarks.report import SuiteResult  # noqa: E402
from scripts.benchmarks.training import Run, train_all  # noqa: E402

POINT = "jax:PointPlane-v0"
ANT = "brax:ant"
EPISODE = {POINT: 50, ANT: 200}
ENVS = 8  # episodes per epoch


@dataclasses.dataclass(frozen=True)
class Budget:
    point_epochs: int
    point_eval_epochs: int
    seeds: tuple[int, ...]
    ant_epochs: int
    ant_eval_epochs: int
    ant_learning_starts: int


FULL = Budget(600, 100, (0, 1, 2), 300, 50, 9600)
QUICK = Budget(40, 20, (0,), 8, 8, 3200)
ANT_UPDATES = 50  # gradient steps per ant epoch
ADAM = ("--actor-lr", "3e-4", "--critic-lr", "3e-4", "--alpha-lr", "3e-4", "--phi-lr", "3e-4", "--dual-lr", "3e-4")


def point_options(learning_starts: int = 2000) -> tuple[str, ...]:
    return ("--hidden", "128", "128", *ADAM, "--learning-starts", str(learning_starts), "--epoch-updates", "50",
            "--buffer-size", "300000")


def ant_options(learning_starts: int) -> tuple[str, ...]:
    return ("--hidden", "128", "128", *ADAM, "--learning-starts", str(learning_starts), "--epoch-updates",
            str(ANT_UPDATES), "--goals", "10")


METRICS = ("coverage", "random_coverage", "total_coverage", "goal_success", "goal_distance")


def runs(budget: Budget) -> dict[str, Run]:
    epoch = ENVS * EPISODE[POINT]
    total = budget.point_epochs * epoch
    point = dict(total_steps=total, seeds=budget.seeds, log_every=epoch * 10, eval_every=budget.point_eval_epochs *
                 epoch, eval_episodes=1)
    ant_epoch = ENVS * EPISODE[ANT]
    return {
        "metra": Run("metra", POINT, options=point_options(), label="metra point", **point),
        "diayn": Run("metra", POINT, options=(*point_options(), "--method", "diayn"), label="diayn point", **point),
        # random actions throughout: the warm-up of uniform random actions never ends
        "random": Run("metra", POINT, options=point_options(total), label="random point", **point),
        "metra-ant": Run("metra", ANT, options=ant_options(budget.ant_learning_starts), label="metra ant",
                         total_steps=budget.ant_epochs * ant_epoch, seeds=budget.seeds,
                         log_every=ant_epoch * math.gcd(5, budget.ant_epochs, budget.ant_eval_epochs),
                         eval_every=budget.ant_eval_epochs * ant_epoch, eval_episodes=1),
    }


def final_metrics(run_dir: Path) -> dict[str, float]:
    import json

    summary = json.loads((run_dir / "eval.json").read_text())
    return {name: float(summary[name]) for name in METRICS if name in summary}


def rows_of(per_method: dict[str, list[dict]], seeds: tuple[int, ...]) -> list[dict]:
    rows = []
    for method, results in per_method.items():
        row = {"method": method}
        for name in METRICS:
            values = [r[name] for r in results]
            row[f"{name}_mean"] = statistics.mean(values)
            row[f"{name}_std"] = statistics.pstdev(values)
            row[f"{name}_per_seed"] = values
        rows.append(row)
    return rows


def point_verdict(per_method: dict[str, list[dict]]) -> tuple[bool, str]:
    metra, diayn = per_method["metra"], per_method["diayn"]
    beats = all(m["coverage"] > d["coverage"] and m["coverage"] > m["random_coverage"] for m, d in zip(metra, diayn))
    goals = statistics.mean(m["goal_success"] for m in metra)
    goal_ok = goals >= 0.5 and goals > statistics.mean(d["goal_success"] for d in diayn)
    passed = beats and goal_ok
    words = (f"METRA's policy coverage beats DIAYN's and random's in {'every' if beats else 'NOT every'} seed; its "
             f"goal success {goals:.2f} is {'at least 0.5 and above' if goal_ok else 'NOT both >= 0.5 and above'} "
             f"DIAYN's. {'PASS' if passed else 'FAIL'}.")
    return passed, words


def plot_coverage(run_dirs: dict[str, list[Path]], path: Path) -> None:
    """Coverage against env steps, mean and min-max over seeds: the point mass's policy and total coverage
    (METRA, DIAYN, random), and the ant's (METRA's policy and total coverage, the uniform random policy's)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from core.plotting import curve, pool

    def draw(ax, dirs, metric, label):
        steps, mean, low, high = pool([curve(d, metric) for d in dirs])
        (line,) = ax.plot(steps, mean, marker="o", markersize=3, label=label)
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.15)

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for ax, metric, title in zip(axes, ("eval_coverage", "eval_total_coverage"), ("policy coverage (48 skill "
                                                                                  "rollouts)", "total coverage")):
        for method in ("metra", "diayn", "random"):
            if method == "random" and metric == "eval_coverage":
                draw(ax, run_dirs["metra"], "eval_random_coverage", method)
            else:
                draw(ax, run_dirs[method], metric, method)
        ax.set_title(f"{POINT}: {title}", fontsize=9)
    ant = run_dirs["metra-ant"]
    for metric, label in (("eval_coverage", "metra policy"), ("eval_total_coverage", "metra total"),
                          ("eval_random_coverage", "random policy")):
        draw(axes[2], ant, metric, label)
    axes[2].set_title(f"{ANT}: coverage", fontsize=9)
    for ax in axes:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda steps, _: f"{steps / 1000:.0f}k"))
        ax.set_xlabel("env steps")
        ax.set_ylabel("1x1 cells")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def spread(values: list[float], digits: int = 0) -> str:
    """`mean +- std (v1, v2, ...)` of per-seed values."""
    per_seed = ", ".join(f"{v:.{digits}f}" for v in values)
    return f"{statistics.mean(values):.{digits}f} +- {statistics.pstdev(values):.{digits}f} ({per_seed})"


def markdown(rows: list[dict], verdict: str, ant: list[dict], budget: Budget, pictures: list[str]) -> str:
    epochs = budget.point_epochs
    lines = [f"Point mass `{POINT}`: {epochs} epochs of {ENVS} episodes x {EPISODE[POINT]} steps "
             f"({epochs * ENVS * EPISODE[POINT]:,} env steps) and 50 gradient steps each, 128-128 networks, Adam "
             f"3e-4, 2-D continuous skills, seeds {', '.join(map(str, budget.seeds))}. Coverage: distinct 1x1 cells; "
             "policy coverage from 48 deterministic rollouts (random: the uniform random policy's 48); goals: 50 "
             "uniform in [-15, 15]^2, success within 1.5.\n",
             "| method | policy coverage | total coverage | goal success | final goal distance | per seed (coverage) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        policy = "coverage" if r["method"] != "random" else "random_coverage"
        goal = f"{r['goal_success_mean']:.2f} +- {r['goal_success_std']:.2f}" if r["method"] != "random" else "-"
        distance = f"{r['goal_distance_mean']:.1f}" if r["method"] != "random" else "-"
        per_seed = ", ".join(f"{v:.0f}" for v in r[f"{policy}_per_seed"])
        lines.append(f"| {r['method']} | {r[f'{policy}_mean']:.0f} +- {r[f'{policy}_std']:.0f} | "
                     f"{r['total_coverage_mean']:.0f} +- {r['total_coverage_std']:.0f} | {goal} | {distance} | "
                     f"{per_seed} |")
    lines += ["", verdict, "", "![coverage over training](coverage.png)", ""]
    lines += [f"![{p}]({p})" for p in pictures]
    column = lambda name: [a[name] for a in ant]  # noqa: E731
    seeds = ", ".join(map(str, budget.seeds))
    lines += ["", f"`{ANT}` (x, y kept in the observation, 200-step episodes, no termination): METRA, "
              f"{budget.ant_epochs} epochs of {ENVS} episodes ({budget.ant_epochs * ENVS * EPISODE[ANT]:,} env "
              f"steps), {ANT_UPDATES} gradient steps each, updates from {budget.ant_learning_starts:,} transitions, "
              f"128-128 networks, seeds {seeds}:", "",
              "| | METRA | uniform random policy |", "|---|---|---|",
              f"| policy coverage (48 rollouts) | {spread(column('coverage'))} | "
              f"{spread(column('random_coverage'))} |",
              f"| total coverage (training) | {spread(column('total_coverage'))} | - |",
              f"| goal success (10 goals in [-50, 50]^2, radius 3) | {spread(column('goal_success'), 2)} | - |",
              f"| final goal distance | {spread(column('goal_distance'), 1)} | - |"]
    return "\n".join(lines) + "\n"


def run(out_dir: Path, quick: bool = False) -> SuiteResult:
    out_dir = Path(out_dir)
    budget = QUICK if quick else FULL
    planned = runs(budget)
    rows, run_dirs = train_all(tuple(planned.values()), out_dir)
    dirs = {method: run_dirs[r.name] for method, r in planned.items()}
    point = {method: [final_metrics(d) for d in dirs[method]] for method in ("metra", "diayn", "random")}
    table = rows_of(point, budget.seeds)
    passed, verdict = point_verdict(point)
    plot_coverage(dirs, out_dir / "coverage.png")
    pictures = []
    for method in ("metra", "diayn", "metra-ant"):
        source = dirs[method][0] / "evaluation.png"
        if source.is_file():
            pictures.append(f"skills_{method}.png")
            shutil.copyfile(source, out_dir / pictures[-1])
    ant = [final_metrics(d) for d in dirs["metra-ant"]]
    ant_rows = [{"method": "metra-ant", "seed": seed, **metrics} for seed, metrics in zip(budget.seeds, ant)]
    result_rows = [*table, *ant_rows, {"method": "verdict", "point_pass": passed}]
    return SuiteResult(result_rows, markdown(table, verdict, ant, budget, pictures), run_dirs=run_dirs)


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("metra")
