"""The `metra-speed` suite: on `brax:ant` (METRA's preset: x, y kept, 29 observations, 8 actions), one METRA gradient
step against one SAC gradient step of the same width and batch, and the env rollout's rate, measured side by side
in one run.

- Gradient steps are timed as the off-policy loop runs them: a uniform draw from a 100k-row replay of random rows
  and the update, `STEPS` of them in one compiled `lax.scan`, the two agents timed in turns. METRA's step adds
  phi's update (one forward and backward pass of phi over s and s' stacked), the dual variable's and the reward
  recomputed with the new phi to SAC's, on inputs two entries wider ([obs, skill]); the issue's budget is 1.3x.
- Why the budget cannot be met with the reward from the updated phi: count the network passes per replay row,
  one unit being the forward pass of one hidden-width MLP (its hidden x hidden layer dominates), a backward pass
  with weight gradients two units and one for input gradients only. SAC's step is 16 units: the critic step 9
  (the actor on s' 1, the twin targets 2, the twin critics forward 2 and backward 4), the actor step 7 (the
  actor forward 1 and backward 2, the twin critics forward 2 and back to the action 2). METRA adds phi on s and
  s' (two rows per transition): forward 2 and backward 4 for its step, forward 2 again for the reward of the
  updated phi, 8 units: (16 + 8) / 16 = 1.5x. The optimiser steps, the target update and the sampling, which
  scale with the parameters rather than the passes (SAC has three networks' worth, phi adds one), pull the
  measured ratio a little below that. Even a reward from the phi *before* its step (one forward for both) would
  count 1.375x.
- The rollout: `EPISODE` steps of `ENVS` ant envs with one skill each, the METRA policy acting through the
  collector of core/rollout (its per-episode skill in the acting carry), jitted and vmapped over the envs as one
  `lax.scan`; reported in env steps/s next to the gradient steps/s.

Widths 1024-1024 (the paper's), batch 256; `--quick`: 256-256 and fewer rounds.

    python scripts/benchmark.py metra-speed [--out-dir DIR] [--quick] [--overwrite]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from agents.metra import METRA, METRAConfig, env_preset  # noqa: E402
from agents.sac import SAC, SACConfig  # noqa: E402
from core import replay  # noqa: E402
from core.protocols import Buffers  # noqa: E402
from core.rollout import JaxCollector  # noqa: E402
from core.transitions import Transition  # noqa: E402
from scripts.benchmarks.h2o_speed import steps_of  # noqa: E402
from scripts.benchmarks.report import SuiteResult, markdown_table  # noqa: E402
from scripts.benchmarks.timing import in_turns  # noqa: E402

ENV = "brax:ant"
STEPS = 50  # gradient steps per timed call
ROWS = 100_000
ENVS, EPISODE = 8, 200  # one epoch of the paper's: 8 skills side by side, 200-step episodes
BUDGET = 1.3  # a METRA step may cost at most this many SAC steps (the budget)
PASS_COUNT = (16 + 8) / 16  # what the network passes of the exact update cost against SAC's (module docstring)


def random_rows(key: jax.Array, n: int, obs_dim: int, act_dim: int, skill_dim: int | None) -> Transition:
    obs_key, act_key, next_key, skill_key = jax.random.split(key, 4)
    false = jnp.zeros(n, bool)
    extras = {} if skill_dim is None else {"skill": jax.random.normal(skill_key, (n, skill_dim))}
    return Transition(jax.random.normal(obs_key, (n, obs_dim)), jax.random.uniform(act_key, (n, act_dim), minval=-1),
                      jnp.zeros(n), jax.random.normal(next_key, (n, obs_dim)), false, false, false, extras)


def rollout_rate(env, agent: METRA, state, rounds: int) -> float:
    """Env steps/s of `ENVS` envs x `EPISODE` steps under METRA's stochastic skill policy, one compiled scan."""
    act = lambda params, carry, obs, first, key: agent.act_with_carry(params, carry, obs, first, key)
    collector = JaxCollector(env, ENVS, act, agent.initial_carry)
    rollout = jax.jit(lambda params, start, key: collector.rollout(params, start, key, EPISODE))
    start = collector.reset(jax.random.PRNGKey(3))
    jax.block_until_ready(rollout(state, start, jax.random.PRNGKey(4)))  # compile
    seconds = []
    for i in range(rounds):
        begin = time.perf_counter()
        jax.block_until_ready(rollout(state, start, jax.random.PRNGKey(5 + i)))
        seconds.append(time.perf_counter() - begin)
    return ENVS * EPISODE / sorted(seconds)[len(seconds) // 2]


def run(out_dir: Path | None = None, quick: bool = False) -> SuiteResult:
    import envs

    rounds = 5 if quick else 20
    width = (256, 256) if quick else (1024, 1024)
    env = envs.make(ENV, **env_preset(ENV))
    spec = env.spec
    obs_dim, act_dim = spec.observation_space.shape[0], spec.action_space.shape[0]
    sac = SAC(SACConfig(hidden=width), spec)
    metra = METRA(METRAConfig(hidden=width), spec)
    skill_dim = metra.config.skill_dim
    sac_buffers = Buffers(replay.from_arrays(random_rows(jax.random.PRNGKey(0), ROWS, obs_dim, act_dim, None)), {})
    metra_buffers = Buffers(replay.from_arrays(random_rows(jax.random.PRNGKey(0), ROWS, obs_dim, act_dim,
                                                           skill_dim)), {})
    metra_state = metra.init(jax.random.PRNGKey(2))
    calls = {"sac": steps_of(sac, sac.init(jax.random.PRNGKey(2)), sac_buffers, STEPS),
             "metra": steps_of(metra, metra_state, metra_buffers, STEPS)}
    for call in calls.values():  # compile both before timing either
        jax.block_until_ready(call())
    seconds = in_turns(calls, rounds)
    rates = {name: STEPS / s for name, s in seconds.items()}
    ratio = rates["sac"] / rates["metra"]
    env_rate = rollout_rate(env, metra, metra_state, rounds)
    rows = [{"agent": name, "gradient_steps_per_s": rate, "cost_vs_sac": rates["sac"] / rate}
            for name, rate in rates.items()]
    rows.append({"agent": "metra rollout", "env_steps_per_s": env_rate})
    verdict = "within" if ratio <= BUDGET else "OVER"
    text = (f"`{ENV}` with METRA's preset ({obs_dim} observations, {act_dim} actions). Gradient steps (sampling + "
            f"update), {width[0]}-{width[1]} networks, batch 256, 2-D skills; {STEPS} steps per compiled call, "
            f"medians of {rounds} calls of each agent taken in turns.\n\n"
            f"{markdown_table(rows[:2])}\nMETRA step / SAC step: {ratio:.2f}x ({verdict} the budget of {BUDGET}x; the "
            f"network passes of the exact update, with the reward from the updated phi, count {PASS_COUNT:.2f}x "
            f"SAC's: scripts/benchmarks/metra_speed.py explains it).\n\n"
            f"Rollout: {ENVS} envs x {EPISODE} steps, one skill per env, METRA's policy, jitted and vmapped over the "
            f"envs in one scan: {env_rate:,.0f} env steps/s, beside {rates['metra']:,.1f} METRA gradient steps/s "
            f"(an epoch of the paper's, {ENVS * EPISODE} env steps and 50 gradient steps, is "
            f"{ENVS * EPISODE / env_rate:.2f} s of rollout and {50 / rates['metra']:.2f} s of updates).\n")
    return SuiteResult(rows, text)


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("metra-speed")
