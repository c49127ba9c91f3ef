"""The `worldmodels-speed` suite: one HRSSM update against one decoder-RSSM (Dreamer) update at the same sizes,
and the rate of imagination, measured side by side in one run.

- Both models at the CPU preset (32x32 px, depth 16, deter 128, 8x8 latent, units 128, B x T = 8 x 32), on a
  fixed random batch; each update is the model's one jitted call (both branches, Adam and, for HRSSM, the EMA
  step), timed in turns with the other. HRSSM drops the decoder but adds the cube mask, a second (EMA) encoder
  pass, the raw posterior and next prior, and the N x N bisimulation matrix (N = B (T - 1) = 248); it must cost
  at most 1.5x the decoder RSSM's update.
- Imagination: the online prior of HRSSM's core rolled H = 15 steps from all B x T = 256 states with a random
  Gaussian policy, one jitted `lax.scan`; reported as horizon steps/s and latent states/s.

`--quick`: fewer timed rounds.

    python scripts/benchmark.py worldmodels-speed [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from core.sequences import DreamerSequence  # noqa: E402
from scripts.benchmarks.report import SuiteResult, markdown_table  # noqa: E402
from scripts.benchmarks.timing import in_turns  # noqa: E402
from worldmodels.config import cpu_preset  # noqa: E402
from worldmodels.decoder_rssm import DecoderRSSM  # noqa: E402
from worldmodels.hrssm import HRSSM, HRSSMConfig  # noqa: E402

ACTIONS = 2
HORIZON = 15
BUDGET = 1.5  # an HRSSM update may cost at most this many decoder-RSSM updates


def random_batch(key: jax.Array, length: int, batch: int, size: int) -> DreamerSequence:
    image_key, action_key, reward_key = jax.random.split(key, 3)
    first = jnp.zeros((length, batch), bool).at[0].set(True)
    return DreamerSequence(jax.random.randint(image_key, (length, batch, size, size, 3), 0, 256).astype(jnp.uint8),
                           jax.random.uniform(action_key, (length, batch, ACTIONS), minval=-1.0),
                           jax.random.uniform(reward_key, (length, batch)), jnp.ones((length, batch)), first)


def update_call(model, batch: DreamerSequence):
    """A call that runs one update from a fixed state (so every timed call does the same work)."""
    state = model.init(jax.random.PRNGKey(0))
    key = jax.random.PRNGKey(1)
    return lambda: model.update(state, batch, key)


def imagination_call(model: HRSSM, batch: DreamerSequence):
    state = model.init(jax.random.PRNGKey(0))
    _, _, starts = jax.jit(model.step)(state, batch, jax.random.PRNGKey(2))
    starts = jax.tree.map(lambda x: x.reshape((-1, *x.shape[2:])), starts)  # all B x T states
    policy = lambda feats, key: jnp.tanh(jax.random.normal(key, (feats.shape[0], ACTIONS)))
    imagine = jax.jit(lambda params, start, key: model.imagine(params, start, policy, key, HORIZON))
    return lambda: imagine(state.params, starts, jax.random.PRNGKey(3)), starts.deter.shape[0]


def run(out_dir: Path | None = None, quick: bool = False) -> SuiteResult:
    rounds = 5 if quick else 20
    rssm_config, hrssm_config = cpu_preset(), cpu_preset(HRSSMConfig)
    c = rssm_config
    batch = random_batch(jax.random.PRNGKey(0), c.sequence_length, c.batch_size, c.image_size)
    hrssm = HRSSM(hrssm_config, ACTIONS)
    imagine, starts = imagination_call(hrssm, batch)
    calls = {"decoder_rssm": update_call(DecoderRSSM(rssm_config, ACTIONS), batch),
             "hrssm": update_call(hrssm, batch), "imagination": imagine}
    for call in calls.values():  # compile every call before timing any
        jax.block_until_ready(call())
    seconds = in_turns(calls, rounds)
    ratio = seconds["hrssm"] / seconds["decoder_rssm"]
    rows = [{"model": name, "updates_per_s": 1.0 / seconds[name], "cost_vs_decoder_rssm": seconds[name] /
             seconds["decoder_rssm"]} for name in ("decoder_rssm", "hrssm")]
    steps_per_s = HORIZON / seconds["imagination"]
    verdict = "within" if ratio <= BUDGET else "OVER"
    text = (f"CPU preset: {c.image_size}x{c.image_size} px, depth {c.depth}, deter {c.deter}, {c.stoch}x{c.classes} "
            f"latent, units {c.units}, B x T = {c.batch_size} x {c.sequence_length}, {ACTIONS} actions; one jitted "
            f"update per call, medians of {rounds} calls of each taken in turns.\n\n{markdown_table(rows)}\n"
            f"HRSSM update / decoder-RSSM update: {ratio:.2f}x ({verdict} the budget of {BUDGET}x).\n\n"
            f"Imagination (HRSSM's online prior, random policy, {starts} starts, H = {HORIZON}, one jitted scan): "
            f"{steps_per_s:,.1f} horizon steps/s = {starts * steps_per_s:,.0f} latent states/s.\n")
    rows.append({"model": "imagination", "horizon_steps_per_s": steps_per_s, "states_per_s": starts * steps_per_s})
    return SuiteResult(rows, text)


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("worldmodels-speed")
