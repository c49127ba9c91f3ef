"""SAC throughput: env steps/s of the off-policy loop, and how close the update math gets to the machine's
dense matmul rate, both measured in the same run.

Settings: SAC's defaults, 256-256 networks, batch 256, one gradient update per env step. The host
figure is HalfCheetah-v5 through gymnasium (MuJoCo on the host, learner jitted); the JAX figure is our Pendulum
port with the whole loop compiled.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import envs  # noqa: E402
from agents.sac import SAC, SACConfig  # noqa: E402
from core.loops.off_policy import OffPolicyLoop  # noqa: E402


def matmul_gflops(size: int = 2048, repeats: int = 20) -> float:
    a = jnp.ones((size, size), jnp.float32)
    square = jax.jit(lambda m: m @ m)
    square(a).block_until_ready()
    start = time.perf_counter()
    for _ in range(repeats):
        out = square(a)
    out.block_until_ready()
    return repeats * 2 * size**3 / (time.perf_counter() - start) / 1e9


def loop_steps_per_second(env_name: str, chunk: int, chunks: int, buffer_size: int) -> tuple[float, float]:
    """Steady-state env steps/s after warm-up and compilation; also returns the warm-up (compile) seconds."""
    env = envs.make(env_name)
    config = SACConfig(learning_starts=chunk, buffer_size=buffer_size)
    loop = OffPolicyLoop(SAC(config, env.spec), env, chunk, seed=0)
    try:
        carry = loop.init_carry(jax.random.PRNGKey(0))
        start = time.perf_counter()
        for _ in range(2):  # random warm-up chunk, then the first learning chunk (compiles the update)
            carry, _ = loop.advance(carry)
        jax.block_until_ready(carry)
        warmup = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(chunks):
            carry, _ = loop.advance(carry)
        jax.block_until_ready(carry)
        return chunks * chunk / (time.perf_counter() - start), warmup
    finally:
        loop.close()


def update_cost(env_name: str) -> tuple[float, float]:
    """(FLOPs of one SAC update as XLA counts them, updates/s of the bare jitted update)."""
    env = envs.make(env_name)
    agent = SAC(SACConfig(), env.spec)
    state = agent.init(jax.random.PRNGKey(0))
    obs_dim, act_dim = agent.obs_dim, agent.action_dim
    batch = {"obs": jnp.ones((256, obs_dim)), "action": jnp.zeros((256, act_dim)), "reward": jnp.zeros(256),
             "next_obs": jnp.ones((256, obs_dim)), "terminated": jnp.zeros(256, bool)}
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
        import json

        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "sac_speed.json").write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
