"""The `pomdp` benchmark suite (docs/icrl.md): in-context RL memories side by side on POPGym.

Every memory (s5, s4d, selective, gru, lstm, none) x the five POPGym Hard envs of the S5 paper's table,
3 seeds trained at once with `jax.jit(jax.vmap(train))`, the `icrl` CPU preset (2 layers of width 64, 32 envs x
128 steps). The report has the final return (mean of the last 10 % of updates) and MMER (max over updates of
the mean return of the episodes that finished in that update), mean +- std over seeds, one learning-curve panel
per env, and compile and run time per (memory, env). The same run measures PPO env steps/s of S5, GRU and LSTM
at sequence length 1024 (16 envs x 1024 steps). The paper network's speed is the `pomdp-speed` suite
(pomdp_speed.py).

    python scripts/benchmark.py pomdp [--out-dir DIR] [--quick] [--overwrite]     (--quick: a fifth of the budget)

`--paper` runs the S5 paper's budget instead: S5 and GRU, 15M env steps per seed, 8 seeds, the paper's network
and PPO update (`agents.icrl.paper_config`; `--cpu-preset` keeps the CPU preset's), popjaxrl's RepeatPrevious lag,
and reports MMER beside the paper's appendix table; `results.json` is `{memory: {env: {mmer, seeds, env_steps}}}`.
`--envs`, `--memories` and `--seeds` narrow either budget. Each finished (memory, env) cell is kept in
`runs/MEMORY__ENV.json`, so `--resume` after an interruption trains only the cells that were not finished:

    python scripts/benchmark.py pomdp --paper --cpu-preset --envs RepeatPreviousHard --seeds 1 --out-dir DIR
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import jax  # noqa: E402
import numpy as np  # noqa: E402

import envs  # noqa: E402
from agents.icrl import ICRLConfig, paper_config  # noqa: E402
from scripts.benchmarks.pomdp_speed import speed_rows, speed_table  # noqa: E402
from scripts.benchmarks.ppo_speed import compile_and_run  # noqa: E402
from scripts.benchmarks.report import SuiteResult  # noqa: E402

MEMORIES = ("s5", "s4d", "selective", "gru", "lstm", "none")
PAPER_ENVS = ("PositionOnlyCartPoleHard", "NoisyPositionOnlyCartPoleHard", "PositionOnlyPendulumHard",
              "NoisyPositionOnlyPendulumHard", "RepeatPreviousHard")
SEEDS = 3
TOTAL_STEPS = 1_024_000  # per seed: 250 updates of 32 x 128
QUICK_STEPS = 204_800

# --paper: the S5 paper's POPGym budget and its appendix table (MMER, mean over 8 seeds; Lu et al. 2023).
PAPER_STEPS = 15_000_000
PAPER_SEEDS = 8
PAPER_MEMORIES = ("s5", "gru")
PAPER_MMER = {"s5": dict(zip(PAPER_ENVS, (1.0, 0.28, 0.79, 0.55, 0.91))),
              "gru": dict(zip(PAPER_ENVS, (1.0, 0.27, 0.75, 0.61, -0.46)))}


def timed_train(config, env_name: str, total_steps: int, seeds: int) -> dict:
    """Compile and run `jit(vmap(train))` over `seeds`; per-update mean episode returns `[seeds, updates]`."""
    _, episodes, compile_seconds, seconds = compile_and_run(config, envs.make(env_name), total_steps, seeds)
    returns = np.asarray(episodes["return_sum"]) / np.maximum(np.asarray(episodes["episodes"]), 1)
    finished = np.asarray(episodes["episodes"]) > 0
    return {"returns": np.where(finished, returns, np.nan), "compile_seconds": compile_seconds,
            "run_seconds": seconds, "steps_per_second": total_steps * seeds / seconds}


def summary(returns: np.ndarray) -> dict:
    """Final-10 % return and MMER per seed, then mean and std over seeds."""
    tail = max(returns.shape[1] // 10, 1)
    final = np.nanmean(returns[:, -tail:], axis=1)
    mmer = np.nanmax(returns, axis=1)
    return {"final": (float(final.mean()), float(final.std())), "mmer": (float(mmer.mean()), float(mmer.std()))}


@dataclass(frozen=True)
class Plan:
    """What one `pomdp` invocation trains: memories x envs, seeds per cell, env steps per seed, and the network."""

    memories: tuple[str, ...]
    envs: tuple[str, ...]
    seeds: int
    total_steps: int
    paper_update: bool  # the paper's network and PPO update (paper_config) rather than the `icrl` CPU preset
    popjaxrl_lag: bool = False  # RepeatPrevious as the paper's table ran it (--paper, whatever the network)

    def config(self, memory: str) -> ICRLConfig:
        if not self.paper_update:
            return ICRLConfig(memory=memory)
        # The paper's GRU baseline is one recurrent layer of 256 (popjaxrl); S5 is 4 layers of 256.
        return paper_config(memory=memory) if memory == "s5" else paper_config(memory=memory, memory_layers=1)

    def env_name(self, env: str) -> str:
        # The paper's RepeatPrevious is popjaxrl's (the card k observations ago, not k - 1; docs/icrl.md).
        return f"pomdp:{env}?lag_convention=popjaxrl" if self.popjaxrl_lag and env.startswith("RepeatPrevious") \
            else f"pomdp:{env}"

    def describe(self) -> str:
        if self.paper_update:
            c = paper_config()
            network = (f"the paper's settings: S5 {c.memory_layers} layers of width {c.memory_size}, GRU 1 layer of "
                       f"{c.memory_size}, {c.num_envs} envs x {c.num_steps} steps, {c.update_epochs} epochs x "
                       f"{c.num_minibatches} minibatches, lr {c.lr}")
        else:
            c = ICRLConfig()
            network = (f"`icrl` CPU preset ({c.memory_layers} layers of width {c.memory_size}, {c.num_envs} envs x "
                       f"{c.num_steps} steps, {c.update_epochs} epochs x {c.num_minibatches} minibatches)")
        lag = ", RepeatPrevious with popjaxrl's lag (k, as the paper ran it)" if self.popjaxrl_lag else ""
        return f"Budget: {self.total_steps:,} env steps per seed, {self.seeds} seed(s) (vmapped), {network}{lag}.\n"


def make_plan(quick: bool, paper: bool, envs_: tuple[str, ...] | None, memories: tuple[str, ...] | None,
              seeds: int | None, cpu_preset: bool) -> Plan:
    """The cells to train; --paper: S5 and GRU at 15M steps and the paper's update (or the CPU preset's)."""
    if cpu_preset and not paper:
        raise ValueError("--cpu-preset only applies with --paper (the default budget already uses it)")
    for name, given, valid in (("env", envs_, PAPER_ENVS), ("memory", memories, MEMORIES)):
        unknown = [v for v in given or () if v not in valid]
        if unknown:
            raise ValueError(f"unknown {name} {unknown[0]!r} for the pomdp suite; valid: {', '.join(valid)}")
    if seeds is not None and seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {seeds}")
    if paper:
        # Whole updates: the nearest multiple of one rollout (the paper's 64 x 1024 or the preset's 32 x 128).
        rollout = (ICRLConfig() if cpu_preset else paper_config())
        per_update = rollout.num_envs * rollout.num_steps
        total = max(round((PAPER_STEPS // 5 if quick else PAPER_STEPS) / per_update), 1) * per_update
        return Plan(tuple(memories or PAPER_MEMORIES), tuple(envs_ or PAPER_ENVS), seeds or PAPER_SEEDS, total,
                    paper_update=not cpu_preset, popjaxrl_lag=True)
    return Plan(tuple(memories or MEMORIES), tuple(envs_ or PAPER_ENVS), seeds or SEEDS,
                QUICK_STEPS if quick else TOTAL_STEPS, False)


def check_options(quick: bool, paper: bool = False, envs: tuple[str, ...] | None = None,
                  memories: tuple[str, ...] | None = None, seeds: int | None = None, cpu_preset: bool = False) -> None:
    """Raise a one-line ValueError for options `run` would refuse (benchmark.py asks before making the out dir)."""
    make_plan(quick, paper, envs, memories, seeds, cpu_preset)


def train_cell(plan: Plan, memory: str, env_name: str, out_dir: Path) -> dict:
    """One (memory, env) cell, read back from `runs/` when an earlier (interrupted) invocation finished it."""
    saved = out_dir / "runs" / f"{memory}__{env_name}.json"
    if saved.exists():
        result = json.loads(saved.read_text())
        result["returns"] = np.array(result["returns"], dtype=float)
        print(f"{memory:>9} {env_name:<30} read back from {saved}", flush=True)
        return result
    result = timed_train(plan.config(memory), plan.env_name(env_name), plan.total_steps, plan.seeds)
    result.update(summary(result["returns"]))
    saved.parent.mkdir(parents=True, exist_ok=True)
    # Written whole then renamed, so an interruption never leaves a half cell that a --resume would trust.
    partial = saved.with_suffix(".tmp")
    partial.write_text(json.dumps({**result, "returns": _json_rows(result["returns"])}))
    partial.replace(saved)
    return result


def learning(plan: Plan, out_dir: Path) -> tuple[dict, str]:
    results: dict[tuple[str, str], dict] = {}
    for env_name in plan.envs:
        for memory in plan.memories:
            result = train_cell(plan, memory, env_name, out_dir)
            results[memory, env_name] = result
            print(f"{memory:>9} {env_name:<30} final {result['final'][0]:+.3f} +- {result['final'][1]:.3f}  "
                  f"MMER {result['mmer'][0]:+.3f}  compile {result['compile_seconds']:.0f} s  "
                  f"run {result['run_seconds']:.0f} s", flush=True)
    plot_curves(results, plan.total_steps, out_dir / "learning_curves.png")
    text = [plan.describe(),
            "### Final return (mean of the last 10 % of updates), mean +- std over seeds\n",
            grid(results, "final"), "\n### MMER (max over updates of the mean episodic return)\n",
            grid(results, "mmer"), "\n### Compile / run seconds (all seeds together)\n",
            grid(results, None), "\n![learning curves](learning_curves.png)\n"]
    return results, "\n".join(text)


def learning_rows(results: dict) -> list[dict]:
    return [{"memory": m, "env": e, "final_return": round(r["final"][0], 3), "final_std": round(r["final"][1], 3),
             "mmer": round(r["mmer"][0], 3), "mmer_std": round(r["mmer"][1], 3),
             "compile_seconds": round(r["compile_seconds"], 1), "run_seconds": round(r["run_seconds"], 1),
             "steps_per_second": round(r["steps_per_second"])} for (m, e), r in results.items()]


def paper_results(results: dict, plan: Plan) -> dict:
    """`{memory: {env: {"mmer", "seeds", "env_steps"}}}`: MMER is the mean over seeds of each seed's MMER."""
    table: dict[str, dict] = {}
    for (memory, env_name), r in results.items():
        table.setdefault(memory, {})[env_name] = {"mmer": round(r["mmer"][0], 4), "seeds": plan.seeds,
                                                  "env_steps": plan.total_steps}
    return table


def paper_table(results: dict, plan: Plan) -> str:
    """Our MMER (mean +- std over seeds) beside the paper's appendix table (8 seeds, 15M steps)."""
    lines = ["| memory | " + " | ".join(plan.envs) + " |", "|---" * (len(plan.envs) + 1) + "|"]
    for memory in plan.memories:
        cells = []
        for env_name in plan.envs:
            mean, std = results[memory, env_name]["mmer"]
            paper = PAPER_MMER.get(memory, {}).get(env_name)
            ours = f"{mean:+.2f} ± {std:.2f}"
            cells.append(f"{ours} (paper {paper:+.2f})" if paper is not None else ours)
        lines.append(f"| {memory} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def grid(results: dict, key: str | None) -> str:
    memories, env_names = _axes(results)
    lines = ["| memory | " + " | ".join(env_names) + " |", "|---" * (len(env_names) + 1) + "|"]
    for memory in memories:
        cells = []
        for env_name in env_names:
            r = results[memory, env_name]
            if key:
                cells.append(f"{r[key][0]:+.2f} ± {r[key][1]:.2f}")
            else:
                cells.append(f"{r['compile_seconds']:.0f} / {r['run_seconds']:.0f}")
        lines.append(f"| {memory} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_curves(results: dict, total: int, path: Path) -> None:
    """Draw the learning curves and keep their data beside them (`learning_curves.json`) for `redraw_curves`."""
    memories, env_names = _axes(results)
    curves = {env_name: {memory: results[memory, env_name]["returns"] for memory in memories}
              for env_name in env_names}
    data = {"total_steps": total, "curves": {e: {m: _json_rows(r) for m, r in c.items()} for e, c in curves.items()}}
    path.with_suffix(".json").write_text(json.dumps(data))
    draw_curves(curves, total, path)


def redraw_curves(out_dir: Path) -> Path:
    """Redraw `OUT/learning_curves.png` from the `learning_curves.json` a `pomdp` run left there."""
    data = json.loads((Path(out_dir) / "learning_curves.json").read_text())
    curves = {e: {m: np.array(r, dtype=float) for m, r in c.items()} for e, c in data["curves"].items()}
    draw_curves(curves, data["total_steps"], Path(out_dir) / "learning_curves.png")
    return Path(out_dir) / "learning_curves.png"


def draw_curves(curves: dict[str, dict[str, np.ndarray]], total: int, path: Path) -> None:
    """One panel per env, one line per memory over `[seeds, updates]` returns (NaN: no episode ended)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.6), squeeze=False)
    for ax, (env_name, by_memory) in zip(axes[0], curves.items()):
        for memory, returns in by_memory.items():
            _draw_memory(ax, memory, returns, total)
        ax.set_title(env_name, fontsize=9)
        ax.set_xlabel("env steps per seed")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean episode return per update")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _draw_memory(ax, memory: str, returns: np.ndarray, total: int) -> None:
    """Only the updates where some seed finished an episode are drawn, so the line joins over the others instead
    of breaking at every NaN."""
    steps = np.arange(1, returns.shape[1] + 1) * total / returns.shape[1]
    seen = np.isfinite(returns).any(axis=0)
    kept = returns[:, seen]
    (line,) = ax.plot(steps[seen], np.nanmean(kept, axis=0), label=memory, linewidth=1.2)
    ax.fill_between(steps[seen], np.nanmin(kept, 0), np.nanmax(kept, 0), color=line.get_color(), alpha=0.15)


def _axes(results: dict) -> tuple[list[str], list[str]]:
    """The memories and envs of `results`' (memory, env) keys, in the order they were trained."""
    return list(dict.fromkeys(m for m, _ in results)), list(dict.fromkeys(e for _, e in results))


def _json_rows(returns: np.ndarray) -> list[list[float | None]]:
    return [[float(v) if np.isfinite(v) else None for v in row] for row in np.asarray(returns)]


def sequence_1024(quick: bool) -> list[dict]:
    base = dataclasses.replace(ICRLConfig(), num_envs=16, num_steps=1024)
    configs = {f"{m} (icrl CPU preset)": dataclasses.replace(base, memory=m) for m in ("s5", "gru", "lstm")}
    return speed_rows(configs, "pomdp:RepeatPreviousHard", 2 if quick else 4, rounds=1 if quick else 3)


def run(out_dir: Path, quick: bool = False, paper: bool = False, envs: tuple[str, ...] | None = None,
        memories: tuple[str, ...] | None = None, seeds: int | None = None, cpu_preset: bool = False) -> SuiteResult:
    """The `pomdp` suite: learning table + curves, and steps/s at sequence length 1024 measured in the same run.

    With `paper`: S5 and GRU at the paper's 15M env steps, our MMER beside the paper's table, and `results.json`
    shaped `{memory: {env: {"mmer", "seeds", "env_steps"}}}`; `envs`, `memories` and `seeds` narrow any run.
    """
    plan = make_plan(quick, paper, envs, memories, seeds, cpu_preset)
    device = jax.devices()[0].device_kind
    results, text = learning(plan, out_dir)
    if paper:
        markdown = "\n".join([f"### MMER beside the S5 paper's appendix table ({device})\n",
                               paper_table(results, plan), text])
        return SuiteResult(paper_results(results, plan), markdown)
    speed = sequence_1024(quick)
    markdown = "\n".join([text, f"### PPO env steps/s at sequence length 1024 (16 envs x 1024 steps, {device})\n",
                          speed_table(speed)])
    return SuiteResult(learning_rows(results) + speed, markdown)


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("pomdp")
