"""Round a run's budget and intervals to whole loop iterations and whole chunks, so any total a user types runs.

A loop advances in compiled chunks of `log_every` env steps, each a whole number of iterations (SAC: `num_envs`
env steps; PPO: a `num_envs x num_steps` rollout). Rather than refuse a total that is not a multiple of those,
each step count is rounded to the nearest whole unit (at least one), and the run says once what it rounded.
"""

from __future__ import annotations

import dataclasses

from core.config import RunConfig


def round_to(value: int, unit: int) -> int:
    """The multiple of `unit` nearest to `value` (halves round up), and at least `unit`."""
    return max(unit, (value + unit // 2) // unit * unit)


def round_budget(run: RunConfig, iteration_steps: int, run_chunk: int | None = None) -> tuple[RunConfig, str | None]:
    """`run` with its step counts made whole iterations and whole chunks, and a one-line note of what changed.

    The chunk (`log_every`) is a whole number of iterations and never longer than the run; the total, the
    evaluation and checkpoint intervals and `stop_after` are whole chunks. An interval of 0 (only at the end)
    stays 0. `run_chunk` is the chunk of the run being resumed when its first total was shorter than its
    --log-every: the run keeps it, so that extending it replays the same chunk boundaries.
    """
    chunk = run_chunk or min(round_to(run.log_every, iteration_steps), round_to(run.total_steps, iteration_steps))
    whole_chunks = lambda steps: steps if not steps else round_to(steps, chunk)
    rounded = dataclasses.replace(
        run,
        log_every=chunk,
        total_steps=round_to(run.total_steps, chunk),
        eval_every=whole_chunks(run.eval_every),
        checkpoint_every=whole_chunks(run.checkpoint_every),
        stop_after=None if run.stop_after is None else whole_chunks(run.stop_after),
    )
    changes = [f"--{name.replace('_', '-')} {getattr(run, name)} -> {getattr(rounded, name)}"
               for name in ("total_steps", "log_every", "eval_every", "checkpoint_every", "stop_after")
               if getattr(run, name) != getattr(rounded, name)]
    if not changes:
        return rounded, None
    units = f"iterations of {iteration_steps} env steps and chunks of {chunk} (--log-every)"
    return rounded, f"rounded to whole {units}: {', '.join(changes)}"
