"""Timing helpers shared by the speed suites: the steady-state rate of a repeated call once compiled and warm,
the median time of a function after its first (compiling) call, configs timed in turn so that a shared machine's
slow spells spread over all of them, and the dense matmul rate that throughput is compared against.

Every figure is wall time (time.perf_counter) around jax.block_until_ready, so asynchronous dispatch is counted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def steady_rate(advance: Callable[[Any], Any], state: Any, warmup_calls: int, timed_calls: int) -> tuple[float, float]:
    """(calls/s of `state = advance(state)` after `warmup_calls` untimed ones, seconds those warm-up calls took).

    The warm-up calls compile and fill whatever the first calls fill; the rate is of the calls after them.
    """
    import jax

    start = time.perf_counter()
    for _ in range(warmup_calls):
        state = advance(state)
    jax.block_until_ready(state)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(timed_calls):
        state = advance(state)
    jax.block_until_ready(state)
    return timed_calls / (time.perf_counter() - start), warmup


def median_time(fn: Callable, *args, repeats: int) -> tuple[float, float]:
    """(median seconds per call after warm-up, seconds of the first call = compile + one run)."""
    import jax

    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times), first


def in_turns(calls: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Median seconds of each call, the calls run one after another `rounds` times (a, b, c, a, b, c, ...).

    Taking turns spreads a shared machine's slow spells over every call instead of one, so the ratios between
    them hold better than their absolute times.
    """
    import jax

    seconds: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(rounds):
        for label, call in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(call())
            seconds[label].append(time.perf_counter() - start)
    return {label: statistics.median(times) for label, times in seconds.items()}


def matmul_gflops(size: int = 2048, repeats: int = 20) -> float:
    """The machine's dense float32 matmul rate, GFLOP/s: the ceiling that the update math is compared against."""
    import jax
    import jax.numpy as jnp

    a = jnp.ones((size, size), jnp.float32)
    square = jax.jit(lambda m: m @ m)
    square(a).block_until_ready()
    start = time.perf_counter()
    for _ in range(repeats):
        out = square(a)
    out.block_until_ready()
    return repeats * 2 * size**3 / (time.perf_counter() - start) / 1e9
