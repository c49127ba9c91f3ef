"""The `sac-speed` suite: SAC throughput, env steps/s of the off-policy loop, and how close the update math gets
to the machine's dense matmul rate, both measured in the same run.

Settings: SAC's defaults, 256-256 networks, batch 256, one gradient update per env step. The host
figure is HalfCheetah-v5 through gymnasium (MuJoCo on the host, learner jitted); the JAX figure is our Pendulum
port with the whole loop compiled.

    python scripts/benchmark.py sac-speed [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import envs  # noqa: E402
from agents.sac import SAC, SACConfig  # noqa: E402
from core.loops.off_policy import OffPolicyLoop  # noqa: E402
from core.transitions import example  # noqa: E402
from scripts.benchmarks.timing import matmul_gflops, steady_rate  # noqa: E402

BATCH = 256


def loop_steps_per_second(env_name: str, chunk: int, chunks: int, buffer_size: int) -> tuple[float, float]:
    """Steady-state env steps/s after warm-up and compilation; also returns the warm-up (compile) seconds."""
    env = envs.make(env_name)
    config = SACConfig(learning_starts=chunk, buffer_size=buffer_size)
    loop = OffPolicyLoop(SAC(config, env.spec), env, chunk, seed=0)
    try:
        carry = loop.init_carry(jax.random.PRNGKey(0))
        # Warm-up: the random-action chunk, then the first learning chunk (which compiles the update).
        chunks_per_second, warmup = steady_rate(lambda c: loop.advance(c)[0], carry, 2, chunks)
        return chunks_per_second * chunk, warmup
    finally:
        loop.close()


def update_batch(spec):
    """A replay batch of BATCH rows in the transition schema: observations of ones, the rest zeros."""
    rows = jax.tree.map(lambda leaf: jnp.zeros((BATCH, *jnp.shape(leaf)), leaf.dtype), example(spec))
    return rows.replace(obs=jnp.ones_like(rows.obs), next_obs=jnp.ones_like(rows.next_obs))


def update_cost(env_name: str) -> tuple[float, float]:
    """(FLOPs of one SAC update as XLA counts them, updates/s of the bare jitted update)."""
    env = envs.make(env_name)
    agent = SAC(SACConfig(), env.spec)
    state = agent.init(jax.random.PRNGKey(0))
    batch = update_batch(env.spec)
    update = jax.jit(agent.update)
    flops = update.lower(state, batch, jax.random.PRNGKey(0)).compile().cost_analysis()["flops"]
    state, _ = update(state, batch, jax.random.PRNGKey(0))
    jax.block_until_ready(state)
    repeats = 200
    start = time.perf_counter()
    for i in range(repeats):
        state, _ = update(state, batch, jax.random.PRNGKey(i))
    jax.block_until_ready(state)
    return float(flops), repeats / (time.perf_counter() - start)


def run(out_dir: Path | None = None, quick: bool = False) -> list[dict]:
    """Measure and print the SAC throughput table; returns its rows."""
    chunks = 2 if quick else 6
    matmul = matmul_gflops()
    flops, updates_per_s = update_cost("gym:HalfCheetah-v5")
    cheetah, cheetah_warmup = loop_steps_per_second("gym:HalfCheetah-v5", 500, chunks, 100_000)
    pendulum, pendulum_warmup = loop_steps_per_second("jax:Pendulum-v1", 1000, chunks, 100_000)
    rows = [
        {"setting": "HalfCheetah-v5 (host MuJoCo), full loop", "steps_per_s": cheetah, "warmup_s": cheetah_warmup,
         "gflops_implied": cheetah * flops / 1e9},
        {"setting": "HalfCheetah-v5 update only", "steps_per_s": updates_per_s, "warmup_s": float("nan"),
         "gflops_implied": updates_per_s * flops / 1e9},
        {"setting": "jax:Pendulum-v1, whole loop jitted", "steps_per_s": pendulum, "warmup_s": pendulum_warmup,
         "gflops_implied": float("nan")},
    ]
    print(f"SAC, 256-256 networks, batch 256, 1 update per env step; one update = {flops / 1e9:.3f} GFLOP (XLA)")
    print(f"dense matmul rate measured in this run: {matmul:.1f} GFLOP/s")
    print(f"{'setting':<42} {'steps/s':>9} {'GFLOP/s':>9} {'of matmul':>10} {'warm-up s':>10}")
    for row in rows:
        share = row["gflops_implied"] / matmul
        print(f"{row['setting']:<42} {row['steps_per_s']:>9.1f} {row['gflops_implied']:>9.1f} "
              f"{share:>10.2f} {row['warmup_s']:>10.1f}")
    for row in rows:
        row["matmul_gflops"] = matmul
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "sac_speed.json").write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("sac-speed")
