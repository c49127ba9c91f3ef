"""Test-session settings: one persistent JAX compilation cache for every test process.

Most of the suite's time on a CPU is XLA compiling the same tiny trainings again (each test builds its own loop,
and pytest-xdist workers and subprocess tests are separate processes). With the cache on disk, a program that
was compiled once in this session, by any process, is loaded instead of compiled.
"""

import os
from pathlib import Path

import jax

CACHE_DIR = Path(__file__).resolve().parents[1] / ".pytest_cache" / "jax-compilation"
CACHE_SETTINGS = {
    "JAX_COMPILATION_CACHE_DIR": str(CACHE_DIR),
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
}

os.environ.update(CACHE_SETTINGS)  # inherited by the subprocess tests
jax.config.update("jax_compilation_cache_dir", CACHE_SETTINGS["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
