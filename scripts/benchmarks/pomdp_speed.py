"""The `pomdp-speed` suite (docs/icrl.md): the S5 paper's network (4 S5 layers of width 256, N=256) against one
GRU (and one LSTM) layer of 256, 32 envs x 256 steps (the rollout shape at which popjaxrl was measured), under two
PPO updates: the paper's (30 epochs x 8 minibatches of 4 whole sequences, as popjaxrl's run_popgym.py) and the CPU
preset's (4 epochs x 4 minibatches of 8). Env steps/s and compile time, as ratios to the GRU of the same update.
The update decides the winner on a CPU: a GRU pays its 256 sequential steps per minibatch whatever the
minibatch's width, while S5's matmuls cost per token, so more, narrower minibatches favour S5.

A second table runs every memory (S5, GRU, S4D, selective) at the `icrl` CPU preset, with S4D and the selective
layer also as they were computed before their current kernels (`PRESET_MEMORIES`), as time per env step relative
to S5.

    python scripts/benchmark.py pomdp-speed [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import jax  # noqa: E402

import envs  # noqa: E402
from agents.icrl import ICRLConfig, paper_config  # noqa: E402
from kernels.recurrence import default_method  # noqa: E402
from scripts.benchmarks.ppo_speed import compile_train  # noqa: E402
from scripts.benchmarks.report import SuiteResult  # noqa: E402
from scripts.benchmarks.timing import in_turns  # noqa: E402


def speed_rows(configs: dict, env_name: str, iterations: int, rounds: int = 3) -> list[dict]:
    """Env steps/s and compile time of each config (one seed), with ratios to the GRU row of the same update.

    All configs are compiled first; then their whole trainings run in turn, `rounds` times, and each row keeps its
    median. Taking turns spreads the shared machine's slow spells over every config instead of one.
    """
    env = envs.make(env_name)
    steps = {label: config.num_envs * config.num_steps * iterations for label, config in configs.items()}
    compiled = {label: compile_train(config, env, steps[label], 1) for label, config in configs.items()}
    seconds = in_turns({label: (lambda train=train, keys=keys: train(keys)) for label, (train, keys, _)
                        in compiled.items()}, rounds)
    rows = []
    for label, config in configs.items():
        run_seconds = seconds[label]
        rows.append({"config": label, "envs_x_steps": f"{config.num_envs} x {config.num_steps}",
                     "epochs_x_minibatches": f"{config.update_epochs} x {config.num_minibatches}",
                     "steps_per_second": round(steps[label] / run_seconds),
                     "compile_seconds": round(compiled[label][2], 1), "run_seconds": round(run_seconds, 2)})
        print(rows[-1], flush=True)
    return with_ratios_to_gru(rows)


def with_ratios_to_gru(rows: list[dict]) -> list[dict]:
    """Each row's `speed_vs_gru` and `compile_vs_gru`: against the GRU row trained with the same PPO update."""
    for row in rows:
        gru = next(g for g in rows if g["config"].startswith("gru") and g["epochs_x_minibatches"]
                   == row["epochs_x_minibatches"])
        row["speed_vs_gru"] = round(row["steps_per_second"] / gru["steps_per_second"], 2)
        row["compile_vs_gru"] = round(row["compile_seconds"] / gru["compile_seconds"], 2)
    return rows


# (epochs, minibatches, iterations timed, iterations with --quick) of each PPO update compared by pomdp-speed.
SPEED_UPDATES = {"paper": (30, 8, 2, 1), "cpu-preset": (4, 4, 4, 2)}


def paper_network(quick: bool) -> list[dict]:
    rows = []
    for update, (epochs, minibatches, iterations, quick_iterations) in SPEED_UPDATES.items():
        shape = {"num_envs": 32, "num_steps": 256, "update_epochs": epochs, "num_minibatches": minibatches}
        configs = {f"s5 4 x 256, {update} update": paper_config(**shape),
                   f"gru 1 x 256, {update} update": paper_config(memory="gru", memory_layers=1, **shape),
                   f"lstm 1 x 256, {update} update": paper_config(memory="lstm", memory_layers=1, **shape)}
        rows += speed_rows(configs, "pomdp:RepeatPreviousHard", quick_iterations if quick else iterations,
                           rounds=1 if quick else 3)
    return rows


# The CPU preset's memories side by side; "before" rows run the same layer as it was computed before its current
# kernel, so that before and after are measured in one run. S4D: chunks of one step (every per-step state formed).
# Selective: its fused loop as XLA loops (`native=False`), the kernel the hand-written one (kernels/native)
# replaced; its decays, inputs and states formed a chunk of 16 steps at a time (`fused=False`), the kernel the
# fused loop replaced; and formed for the whole sequence at once (one chunk of T), the kernel before that.
PRESET_MEMORIES = {
    "s5": ("s5", ()),
    "gru": ("gru", ()),
    "s4d": ("s4d", ()),
    "s4d, per-step states (before)": ("s4d", ("chunk_size=1",)),
    "selective": ("selective", ()),
    "selective, XLA loops (before)": ("selective", ("native=False",)),
    "selective, chunks of 16 steps (before)": ("selective", ("fused=False",)),
    "selective, one chunk of T (before)": ("selective", ("fused=False", "chunk_size=1024")),
}


def preset_memories(quick: bool) -> list[dict]:
    """PPO env steps/s of every memory at the `icrl` CPU preset (2 layers of width 64, 32 envs x 128 steps),
    with each row's time per env step as a multiple of S5's (`time_vs_s5`)."""
    configs = {label: dataclasses.replace(ICRLConfig(), memory=memory, memory_options=options)
               for label, (memory, options) in PRESET_MEMORIES.items()}
    # 16 iterations (S5's run is about 3 s): with 4 (under a second) S5's rate, and so every ratio to it, moved by
    # 30 % from run to run on this shared machine.
    rows = speed_rows(configs, "pomdp:RepeatPreviousHard", 2 if quick else 16, rounds=1 if quick else 3)
    s5 = next(row for row in rows if row["config"] == "s5")
    for row in rows:
        row["time_vs_s5"] = round(s5["steps_per_second"] / row["steps_per_second"], 2)
    return rows


def speed_table(rows: list[dict]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def run(out_dir: Path, quick: bool = False) -> SuiteResult:
    """The `pomdp-speed` suite: the paper's S5 network vs one GRU / LSTM layer of 256."""
    device = jax.devices()[0].device_kind
    speed = paper_network(quick)
    preset = preset_memories(quick)
    markdown = (f"### Paper network, 32 envs x 256 steps, RepeatPreviousHard ({device}, recurrence "
                f"{default_method()})\n\n" + speed_table(speed) +
                "\n### Every memory at the `icrl` CPU preset (2 layers of width 64; S4D N/2 = 32 modes per channel, "
                "selective N = 16, expand 2), 32 envs x 128 steps, 4 epochs x 4 minibatches\n\n"
                "`time_vs_s5`: time per env step as a multiple of S5's. The `(before)` rows run the same layer as "
                "it was computed before its current kernel: S4D forming every per-step state; the selective layer "
                "running its fused loop as XLA loops (the kernel the hand-written one replaced), forming its "
                "decays, inputs and states a chunk of 16 steps at a time (the kernel the fused loop replaced) or "
                "for the whole sequence at once.\n\n" + speed_table(preset))
    return SuiteResult(speed + preset, markdown)


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("pomdp-speed")
