"""The `moorl-speed` suite: one MOORL meta-iteration of K inner steps against K SAC gradient steps of the same
width and batch, measured side by side in one run.

Both are timed as the off-policy loop runs them: SAC, a (uniform draw from the replay, update) pair per gradient
step; MOORL, per meta-iteration, the buffer choice and its K minibatches (one draw of K x batch rows) and then
the K inner steps as one `lax.scan` with the meta step and the target update after it. `STEPS` gradient steps
per compiled call, the two agents timed in turns. HalfCheetah-v5 shapes, 256-256 networks, batch 256, a 10k-row
dataset and a 100k-row online replay of random rows, the online replay warm (so either buffer can be drawn).
The meta-iteration does SAC's work minus K - 1 target updates, plus two tree maps (the meta step) and a cond
that picks the buffer, so it should cost about K SAC steps.

    python scripts/benchmark.py moorl-speed [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import jax  # noqa: E402

from agents.moorl import MOORL, MOORLConfig  # noqa: E402
from agents.sac import SAC, SACConfig  # noqa: E402
from core import replay  # noqa: E402
from core.protocols import DATASET, Buffers  # noqa: E402
from scripts.benchmarks.h2o_speed import DATASET_ROWS, SIM_ROWS, SPEC, random_rows, steps_of  # noqa: E402
from scripts.benchmarks.report import SuiteResult, markdown_table  # noqa: E402
from scripts.benchmarks.timing import in_turns  # noqa: E402

K = 5  # MOORL's default inner steps
STEPS = 50  # gradient steps per timed call: 50 SAC updates, 10 meta-iterations
BUDGET = 1.2  # a meta-iteration may cost at most this many times K SAC updates


def run(out_dir: Path | None = None, quick: bool = False) -> SuiteResult:
    rounds = 5 if quick else 20
    online = replay.from_arrays(random_rows(jax.random.PRNGKey(0), SIM_ROWS))
    offline = replay.from_arrays(random_rows(jax.random.PRNGKey(1), DATASET_ROWS))
    buffers = Buffers(online, {DATASET: offline})
    sac = SAC(SACConfig(), SPEC)
    moorl = MOORL(MOORLConfig(inner_steps=K, warmup_on=0), SPEC)
    calls = {"sac": steps_of(sac, sac.init(jax.random.PRNGKey(2)), buffers, STEPS),
             "moorl": steps_of(moorl, moorl.init(jax.random.PRNGKey(2)), buffers, STEPS // K)}
    for call in calls.values():  # compile both before timing either
        jax.block_until_ready(call())
    seconds = in_turns(calls, rounds)
    rates = {name: STEPS / s for name, s in seconds.items()}  # gradient steps per second
    ratio = rates["sac"] / rates["moorl"]  # = (one meta-iteration) / (K SAC updates)
    rows = [{"agent": name, "gradient_steps_per_s": rate, "cost_vs_sac": rates["sac"] / rate}
            for name, rate in rates.items()]
    verdict = "within" if ratio <= BUDGET else "OVER"
    text = (f"Gradient steps (sampling + update), 256-256 networks, batch 256, HalfCheetah-v5 shapes; {STEPS} steps "
            f"per compiled call (SAC: {STEPS} updates; MOORL: {STEPS // K} meta-iterations of K = {K}), medians of "
            f"{rounds} calls of each agent taken in turns.\n\n{markdown_table(rows)}\nOne MOORL meta-iteration / "
            f"K SAC updates: {ratio:.2f}x ({verdict} the budget of {BUDGET}x).\n")
    return SuiteResult(rows, text)


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("moorl-speed")
