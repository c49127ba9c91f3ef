"""The `pomdp` benchmark suite (docs/icrl.md): in-context RL memories side by side on POPGym.

Every memory (s5, s4d, selective, gru, lstm, none) x the five POPGym Hard envs of the S5 paper's table,
3 seeds trained at once with `jax.jit(jax.vmap(train))`, the `icrl` CPU preset (2 layers of width 64, 32 envs x
128 steps). The report has the final return (mean of the last 10 % of updates) and MMER (max over updates of
the mean return of the episodes that finished in that update), mean +- std over seeds, one learning-curve panel
per env, and compile and run time per (memory, env). The same run measures PPO env steps/s of S5, GRU and LSTM
at sequence length 1024 (16 envs x 1024 steps). The paper network's speed is the `pomdp-speed` suite
(pomdp_speed.py).

    python scripts/benchmark.py pomdp [--out-dir DIR] [--quick] [--overwrite]     (--quick: a fifth of the budget)
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import jax  # noqa: E402
import numpy as np  # noqa: E402

import envs  # noqa: E402
from agents.icrl import ICRLConfig  # noqa: E402
from scripts.benchmarks.pomdp_speed import speed_rows, speed_table  # noqa: E402
from scripts.benchmarks.ppo_speed import compile_and_run  # noqa: E402
from scripts.benchmarks.report import SuiteResult  # noqa: E402

MEMORIES = ("s5", "s4d", "selective", "gru", "lstm", "none")
PAPER_ENVS = ("PositionOnlyCartPoleHard", "NoisyPositionOnlyCartPoleHard", "PositionOnlyPendulumHard",
              "NoisyPositionOnlyPendulumHard", "RepeatPreviousHard")
SEEDS = 3
TOTAL_STEPS = 1_024_000  # per seed: 250 updates of 32 x 128
QUICK_STEPS = 204_800


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


def learning(quick: bool, out_dir: Path) -> tuple[list[dict], str]:
    total = QUICK_STEPS if quick else TOTAL_STEPS
    results: dict[tuple[str, str], dict] = {}
    for env_name in PAPER_ENVS:
        for memory in MEMORIES:
            result = timed_train(ICRLConfig(memory=memory), f"pomdp:{env_name}", total, SEEDS)
            result.update(summary(result["returns"]))
            results[memory, env_name] = result
            print(f"{memory:>9} {env_name:<30} final {result['final'][0]:+.3f} +- {result['final'][1]:.3f}  "
                  f"MMER {result['mmer'][0]:+.3f}  compile {result['compile_seconds']:.0f} s  "
                  f"run {result['run_seconds']:.0f} s", flush=True)
    plot_curves(results, total, out_dir / "learning_curves.png")
    rows = [{"memory": m, "env": e, "final_return": round(r["final"][0], 3), "final_std": round(r["final"][1], 3),
             "mmer": round(r["mmer"][0], 3), "mmer_std": round(r["mmer"][1], 3),
             "compile_seconds": round(r["compile_seconds"], 1), "run_seconds": round(r["run_seconds"], 1),
             "steps_per_second": round(r["steps_per_second"])} for (m, e), r in results.items()]
    preset = ICRLConfig()
    budget = (f"Budget: {total:,} env steps per seed, {SEEDS} seeds (vmapped), `icrl` CPU preset "
              f"({preset.memory_layers} layers of width {preset.memory_size}, {preset.num_envs} envs x "
              f"{preset.num_steps} steps).\n")
    text = [budget,
            "### Final return (mean of the last 10 % of updates), mean +- std over seeds\n",
            grid(results, "final"), "\n### MMER (max over updates of the mean episodic return)\n",
            grid(results, "mmer"), "\n### Compile / run seconds (all seeds together)\n",
            grid(results, None), "\n![learning curves](learning_curves.png)\n"]
    return rows, "\n".join(text)


def grid(results: dict, key: str | None) -> str:
    lines = ["| memory | " + " | ".join(PAPER_ENVS) + " |", "|---" * (len(PAPER_ENVS) + 1) + "|"]
    for memory in MEMORIES:
        cells = []
        for env_name in PAPER_ENVS:
            r = results[memory, env_name]
            if key:
                cells.append(f"{r[key][0]:+.2f} ± {r[key][1]:.2f}")
            else:
                cells.append(f"{r['compile_seconds']:.0f} / {r['run_seconds']:.0f}")
        lines.append(f"| {memory} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_curves(results: dict, total: int, path: Path) -> None:
    """Draw the learning curves and keep their data beside them (`learning_curves.json`) for `redraw_curves`."""
    curves = {env_name: {memory: results[memory, env_name]["returns"] for memory in MEMORIES}
              for env_name in PAPER_ENVS}
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


def _json_rows(returns: np.ndarray) -> list[list[float | None]]:
    return [[float(v) if np.isfinite(v) else None for v in row] for row in np.asarray(returns)]


def sequence_1024(quick: bool) -> list[dict]:
    base = dataclasses.replace(ICRLConfig(), num_envs=16, num_steps=1024)
    configs = {f"{m} (icrl CPU preset)": dataclasses.replace(base, memory=m) for m in ("s5", "gru", "lstm")}
    return speed_rows(configs, "pomdp:RepeatPreviousHard", 2 if quick else 4, rounds=1 if quick else 3)


def run(out_dir: Path, quick: bool = False) -> SuiteResult:
    """The `pomdp` suite: learning table + curves, and steps/s at sequence length 1024 measured in the same run."""
    device = jax.devices()[0].device_kind
    rows, text = learning(quick, out_dir)
    speed = sequence_1024(quick)
    markdown = "\n".join([text, f"### PPO env steps/s at sequence length 1024 (16 envs x 1024 steps, {device})\n",
                          speed_table(speed)])
    return SuiteResult(rows + speed, markdown)


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("pomdp")
