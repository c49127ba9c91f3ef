"""Simulation of a fitted NHA on a time grid: pure, and jit- and vmap-able, so 500 runs are one vmapped call and
a planner can roll it out with candidate controls.

At most one event per grid step (a step of the data's own spacing): when the next event falls inside a step, the
state is moved to it by a partial RK4 step, jumped, a new event is drawn from the post-jump state, and the rest of
the step is solved in the new mode. A second event inside the same step is postponed to the next one and counted
in `overflow`. With a `guard` (a known event surface h(x), crossed downwards, as for the bouncing ball), events are
state-triggered instead: the crossing is located by linear interpolation of h over the step, and the
successor mode is the transition table's most likely one.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from worldmodels.nha.events import jump, sample_event
from worldmodels.nha.flows import mode_fields
from worldmodels.nha.model import NHAModel
from worldmodels.nha.rk4 import rk4_step


def _advance(model: NHAModel, z, mode, dt, u):
    f = lambda x, c: mode_fields(model.flows, x, c, model.flow_mask)[mode]
    return rk4_step(f, z, dt, u)


def simulate(model: NHAModel, x0: jax.Array, mode0: jax.Array, t_grid: jax.Array, key: jax.Array,
             controls: jax.Array | None = None, guard: Callable[[jax.Array], jax.Array] | None = None) -> dict:
    """Roll the model out from `x0 [n]` (raw units) in `mode0` over `t_grid [T]`, with optional `controls
    [T, k]` held from each grid time to the next. Returns `x [T, n]`, `mode [T]`, and per step `event [T]` (an
    event happened in the step ending at that sample), `event_time`, `source`, `target`, and `overflow`."""
    cfg = model.event_config
    controls = jnp.zeros((t_grid.shape[0], 0)) if controls is None else controls
    z0 = model.normaliser(x0)
    mode0 = jnp.asarray(mode0, jnp.int32)
    key, first = jax.random.split(key)
    target0, tau0 = sample_event(cfg, model.events, model.stats, mode0, z0, first)
    t0 = t_grid[0]

    def clock_step(carry, inputs):
        z, mode, t_event, target, overflow = carry
        t_a, t_b, u, step_key = inputs
        fires = t_event <= t_b
        t_hit = jnp.clip(t_event, t_a, t_b)
        z_hit = _advance(model, z, mode, jnp.where(fires, t_hit - t_a, t_b - t_a), u)
        z_jump = jnp.where(fires, jump(model.events["jumps"], mode, target, z_hit, u), z_hit)
        new_mode = jnp.where(fires, target, mode).astype(jnp.int32)
        next_target, tau = sample_event(cfg, model.events, model.stats, new_mode, z_jump, step_key)
        new_event = jnp.where(fires, t_hit + tau, t_event)
        new_target = jnp.where(fires, next_target, target).astype(jnp.int32)
        overflow = overflow + (fires & (new_event <= t_b)).astype(jnp.int32)
        z_end = _advance(model, z_jump, new_mode, jnp.where(fires, t_b - t_hit, 0.0), u)
        record = (z_end, new_mode, fires, jnp.where(fires, t_hit, jnp.nan), mode, target)
        return (z_end, new_mode, new_event, new_target, overflow), record

    def guard_step(carry, inputs):
        z, mode, t_event, target, overflow = carry
        t_a, t_b, u, step_key = inputs
        dt = t_b - t_a
        z_full = _advance(model, z, mode, dt, u)
        h_a, h_b = guard(model.normaliser.invert(z)), guard(model.normaliser.invert(z_full))
        fires = (h_a > 0) & (h_b <= 0)
        frac = jnp.where(fires, h_a / jnp.where(fires, h_a - h_b, 1.0), 1.0)
        z_hit = _advance(model, z, mode, frac * dt, u)
        del step_key  # the guard decides when; the successor is the table's most likely one (a drawn successor
        # would, e.g., put a bouncing ball to rest at a random bounce instead of when its bounces die out)
        new_target = jnp.argmax(model.stats["log_pi"][mode]).astype(jnp.int32)
        z_jump = jump(model.events["jumps"], mode, new_target, z_hit, u)
        new_mode = jnp.where(fires, new_target, mode).astype(jnp.int32)
        z_end = jnp.where(fires, _advance(model, z_jump, new_mode, (1 - frac) * dt, u), z_full)
        record = (z_end, new_mode, fires, jnp.where(fires, t_a + frac * dt, jnp.nan), mode, new_target)
        return (z_end, new_mode, t_event, target, overflow), record

    keys = jax.random.split(key, t_grid.shape[0] - 1)
    inputs = (t_grid[:-1], t_grid[1:], controls[:-1], keys)
    carry = (z0, mode0, t0 + tau0, target0.astype(jnp.int32), jnp.zeros((), jnp.int32))
    carry, (zs, modes, fired, times, sources, targets) = jax.lax.scan(
        clock_step if guard is None else guard_step, carry, inputs)
    prepend = lambda first_value, rest: jnp.concatenate([jnp.asarray(first_value)[None], rest])
    return {"x": model.normaliser.invert(prepend(z0, zs)), "mode": prepend(mode0, modes),
            "event": prepend(False, fired), "event_time": prepend(jnp.nan, times),
            "source": prepend(mode0, sources), "target": prepend(mode0, targets), "overflow": carry[4]}
