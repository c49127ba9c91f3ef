"""Shared by the METRA tests: XLA's optimisation passes off while they compile their tiny programs."""

import jax
import pytest


@pytest.fixture(autouse=True, scope="module")
def quick_compiles():
    """Compilation is most of a tiny METRA run's time on a CPU; unoptimised code runs these toy sizes about as
    fast. The flag is not part of JAX's in-memory cache keys, so those caches are cleared afterwards, as in
    tests/scripts/test_cli_matrix.py."""
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)
    jax.clear_caches()
