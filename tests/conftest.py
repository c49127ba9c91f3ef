"""Test-session settings: a persistent JAX compilation cache shared by every test process, and XLA's optimisation
passes off except in the test modules marked `optimized`.

Most of the suite's time on a CPU is XLA compiling the same tiny trainings again (each test builds its own loop,
and pytest-xdist workers and subprocess tests are separate processes). With the cache on disk, a program that
was compiled once in this session, by any process, is loaded instead of compiled. What is left is compiling each
program once: with most optimisations off that takes about half the time, and the toy sizes most tests run at
are about as fast unoptimised. A module whose programs run for many steps (a learning test), or that compares
the bits of two programs, marks itself `pytestmark = pytest.mark.optimized` to compile as a user's run does.
"""

import os
from pathlib import Path

import jax
import pytest

CACHE_DIR = Path(__file__).resolve().parents[1] / ".pytest_cache" / "jax-compilation"
QUICK_COMPILE_VARIABLE = "JAX_DISABLE_MOST_OPTIMIZATIONS"
SETTINGS = {
    "JAX_COMPILATION_CACHE_DIR": str(CACHE_DIR),
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    QUICK_COMPILE_VARIABLE: "1",
}

os.environ.update(SETTINGS)  # inherited by the subprocess tests
jax.config.update("jax_compilation_cache_dir", SETTINGS["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
jax.config.update("jax_disable_most_optimizations", True)


def pytest_configure(config):
    config.addinivalue_line("markers", "optimized: compile this module's programs with XLA's optimisations on")


@pytest.fixture(autouse=True, scope="module")
def compile_mode(request):
    """Optimisations on for the length of a module marked `optimized` (for its subprocesses too).

    The flag is part of the on-disk cache key but not of JAX's in-memory caches, so those are cleared on the way
    in and out: neither side runs a program compiled under the other setting.
    """
    if request.node.get_closest_marker("optimized") is None:
        yield
        return
    _set_quick_compile(False)
    try:
        yield
    finally:
        _set_quick_compile(True)


def _set_quick_compile(quick: bool) -> None:
    jax.clear_caches()
    os.environ[QUICK_COMPILE_VARIABLE] = "1" if quick else "0"
    jax.config.update("jax_disable_most_optimizations", quick)
