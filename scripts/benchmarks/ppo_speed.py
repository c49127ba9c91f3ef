"""The `ppo-speed` suite: PPO throughput on our JAX CartPole, env steps/s of the whole-training
`jit(vmap(train))`, compile time apart.

Configs: PureJaxRL's default CartPole (4 envs x 128 steps, 4 epochs, 4 minibatches, 64-64 tanh, 500k steps),
the same with 64 envs x 128 steps, four seeds of the default at once with `vmap`, and the GRU variant. Compilation
is timed on its own (`lower().compile()`), then the compiled training runs once, timed to completion.

    python scripts/benchmark.py ppo-speed [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import jax  # noqa: E402
import numpy as np  # noqa: E402

import envs  # noqa: E402
from agents.ppo import PPO, PPOConfig, make_train  # noqa: E402
from core.loops.on_policy import evaluate_policy  # noqa: E402

TOTAL_STEPS = 499_712  # PureJaxRL's 5e5, rounded down to whole 512-step iterations


def compile_train(config: PPOConfig, env, total_steps: int, seeds: int):
    """`jit(vmap(train))` over `seeds`, compiled ahead of time: (compiled train, its seed keys, compile s)."""
    train = jax.jit(jax.vmap(make_train(config, env, total_steps)))
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    start = time.perf_counter()
    compiled = train.lower(keys).compile()
    return compiled, keys, time.perf_counter() - start


def compile_and_run(config: PPOConfig, env, total_steps: int, seeds: int):
    """`jit(vmap(train))` over `seeds`, compiled and run apart: (carry, episode stats, compile s, run s)."""
    compiled, keys, compile_seconds = compile_train(config, env, total_steps, seeds)
    start = time.perf_counter()
    carry, (_, episodes) = jax.block_until_ready(compiled(keys))
    return carry, episodes, compile_seconds, time.perf_counter() - start


def measure(label: str, config: PPOConfig, total_steps: int, seeds: int) -> dict:
    env = envs.make("jax:CartPole-v1")
    carry, episodes, compile_seconds, seconds = compile_and_run(config, env, total_steps, seeds)
    agent = PPO(config, env.spec)
    evaluate = jax.jit(jax.vmap(lambda p, k: evaluate_policy(agent, env, p, k, 20)))
    returns = np.asarray(evaluate(carry.agent.params, jax.random.split(jax.random.PRNGKey(1), seeds)))
    last = slice(-max(len(episodes["episodes"][0]) // 10, 1), None)
    train_return = np.asarray(episodes["return_sum"][:, last].sum(1) / np.maximum(episodes["episodes"][:, last]
                                                                                   .sum(1), 1))
    row = {"config": label, "seeds": seeds, "env_steps": total_steps * seeds,
           "steps_per_second": round(total_steps * seeds / seconds), "compile_seconds": round(compile_seconds, 1),
           "train_seconds": round(seconds, 2), "final_train_return": round(float(train_return.mean()), 1),
           "eval_return": round(float(returns.mean()), 1)}
    print(row, flush=True)
    return row


def run(out_dir: Path | None = None, quick: bool = False) -> list[dict]:
    total = 65_536 if quick else TOTAL_STEPS
    rnn_total = 32_768 if quick else TOTAL_STEPS
    default = PPOConfig(anneal_lr_steps=total)
    wide = PPOConfig(num_envs=64, num_steps=128, anneal_lr_steps=total)
    rnn = PPOConfig(memory="gru", anneal_lr_steps=rnn_total)
    return [
        measure("ppo 4x128 (PureJaxRL CartPole)", default, total, 1),
        measure("ppo 64x128", wide, total - total % 8192, 1),
        measure("ppo 4x128, 4 seeds vmapped", default, total, 4),
        measure("ppo-gru(128) 4x128", rnn, rnn_total, 1),
    ]


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("ppo-speed")
