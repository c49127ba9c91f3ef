"""The `h2o-speed` suite: the cost of one H2O gradient step against one SAC gradient step of the same width and
batch, measured side by side in one run.

Both steps are timed as the off-policy loop runs them: batch sampling (SAC: one uniform draw from the replay;
H2O: the real and sim halves, the classifiers' batches and their held-out batches) plus the update, `STEPS` of
them in one compiled `lax.scan`, the two timed in turns. Shapes are HalfCheetah-v5's (17 observations, 6
actions), 256-256 networks (the classifiers too), batch 256 (H2O: 128 real + 128 sim), a 10k-row dataset and a
100k-row sim replay of random rows. H2O's step adds two classifier updates on 256 + 256 rows and 11 passes of
the transition classifier over the sim half (its log ratio and the gap score's 10 perturbed next states) to
SAC's, which puts it near 2x.

    python scripts/benchmark.py h2o-speed [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from agents.h2o import H2O, H2OConfig  # noqa: E402
from agents.sac import SAC, SACConfig  # noqa: E402
from core import replay  # noqa: E402
from core.protocols import DATASET, Buffers  # noqa: E402
from core.transitions import Transition  # noqa: E402
from envs.protocol import EnvSpec  # noqa: E402
from envs.spaces import Box  # noqa: E402
from scripts.benchmarks.report import SuiteResult, markdown_table  # noqa: E402
from scripts.benchmarks.timing import in_turns  # noqa: E402

OBS, ACT = 17, 6  # HalfCheetah-v5
SPEC = EnvSpec("HalfCheetah-v5 shapes", Box.uniform(-jnp.inf, jnp.inf, (OBS,)), Box.uniform(-1, 1, (ACT,)), 1000)
STEPS = 50  # gradient steps per timed call
DATASET_ROWS, SIM_ROWS = 10_000, 100_000


def random_rows(key: jax.Array, n: int) -> Transition:
    obs_key, act_key, next_key, reward_key = jax.random.split(key, 4)
    false = jnp.zeros(n, bool)
    return Transition(jax.random.normal(obs_key, (n, OBS)), jax.random.uniform(act_key, (n, ACT), minval=-1),
                      jax.random.normal(reward_key, (n,)), jax.random.normal(next_key, (n, OBS)), false, false,
                      false)


def steps_of(agent, state, buffers: Buffers, calls: int = STEPS):
    """A jitted function doing `calls` (sample, update) pairs from `state`, returning the new state."""

    def one(carry, key):
        sample_key, update_key = jax.random.split(key)
        carry, _ = agent.update(carry, agent.sample_batch(buffers, carry, sample_key), update_key)
        return carry, None

    run = jax.jit(lambda s, key: jax.lax.scan(one, s, jax.random.split(key, calls))[0])
    return lambda: run(state, jax.random.PRNGKey(1))


def run(out_dir: Path | None = None, quick: bool = False) -> SuiteResult:
    rounds = 5 if quick else 20
    sim = replay.from_arrays(random_rows(jax.random.PRNGKey(0), SIM_ROWS))
    real = replay.from_arrays(random_rows(jax.random.PRNGKey(1), DATASET_ROWS))
    buffers = Buffers(sim, {DATASET: real})
    sac = SAC(SACConfig(), SPEC)
    h2o = H2O(H2OConfig(), SPEC)
    calls = {"sac": steps_of(sac, sac.init(jax.random.PRNGKey(2)), buffers),
             "h2o": steps_of(h2o, h2o.init_with_data(jax.random.PRNGKey(2), buffers.static), buffers)}
    for call in calls.values():  # compile both before timing either
        jax.block_until_ready(call())
    seconds = in_turns(calls, rounds)
    rates = {name: STEPS / s for name, s in seconds.items()}
    ratio = rates["sac"] / rates["h2o"]
    rows = [{"agent": name, "gradient_steps_per_s": rate, "cost_vs_sac": rates["sac"] / rate}
            for name, rate in rates.items()]
    text = (f"One gradient step (sampling + update), 256-256 networks (classifiers too), batch 256 (H2O: 128 real "
            f"+ 128 sim), HalfCheetah-v5 shapes; {STEPS} steps per compiled call, medians of {rounds} calls of each "
            f"agent taken in turns.\n\n{markdown_table(rows)}\nH2O step / SAC step: {ratio:.2f}x (budget: at most "
            f"2.5x).\n")
    return SuiteResult(rows, text)  # the report writes the rows to results.json


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("h2o-speed")
