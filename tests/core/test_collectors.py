"""The JAX and the host collector give the same transitions on a deterministic env, episode ends included,
and count the same episode statistics."""

import jax
import jax.numpy as jnp
import numpy as np

import envs
from core.rollout import HostCollector, JaxCollector, memoryless
from tests.core.deterministic_envs import COUNTER_GYM_ID, CounterEnv


def policy(params, obs, key):
    return jnp.tanh(params * obs[:, :1] - 0.3)  # depends on the obs, not on the key: both collectors agree


def counting_act(params, carry, obs, first, key):
    """A policy with a carry (steps since the episode started) and an extra (the carry as seen)."""
    carry = jnp.where(first, 0, carry + 1)
    return carry, policy(params, obs, key), {"age": carry}


def test_jax_and_host_collectors_give_the_same_transitions():
    jax_env, host_env = CounterEnv(limit=3), envs.make(f"gym:{COUNTER_GYM_ID}?limit=3")
    params, steps = jnp.float32(0.2), 7
    jax_collector = JaxCollector(jax_env, 2, counting_act, lambda n: jnp.zeros(n, jnp.int32))
    host_collector = HostCollector(host_env, 2, 0, counting_act, lambda n: jnp.zeros(n, jnp.int32))
    try:
        rollout = jax.jit(jax_collector.rollout, static_argnums=3)
        _, jax_rows, jax_stats = rollout(params, jax_collector.reset(jax.random.PRNGKey(0)), jax.random.PRNGKey(1),
                                         steps)
        _, host_rows, host_stats = host_collector.rollout(params, host_collector.reset(), jax.random.PRNGKey(1), steps)
    finally:
        host_collector.close()
    for name in ("obs", "action", "reward", "next_obs", "terminated", "truncated", "first"):
        np.testing.assert_allclose(np.asarray(jax_rows[name]), np.asarray(host_rows[name]), rtol=1e-6,
                                   err_msg=name)
    np.testing.assert_array_equal(np.asarray(jax_rows["age"]), np.asarray(host_rows["age"]))
    assert np.asarray(jax_rows.truncated).sum() == 4, "two episode ends of 3 steps in 7 steps, in each of 2 envs"
    assert np.asarray(jax_rows.first)[[0, 3, 6]].all() and not np.asarray(jax_rows.first)[[1, 2, 4, 5]].any()
    np.testing.assert_allclose(np.asarray(jax_rows.next_obs)[2, :, 0], 3.0)  # the final obs, not the reset one
    for name, value in jax_stats.items():
        np.testing.assert_allclose(float(value), float(host_stats[name]), rtol=1e-6, err_msg=name)
    assert float(jax_stats["episodes"]) == 4 and float(jax_stats["length_sum"]) == 12


def test_memoryless_wraps_a_plain_policy():
    collector = JaxCollector(CounterEnv(limit=3), 1, memoryless(policy))
    state, rows, _ = collector.rollout(jnp.float32(0.0), collector.reset(jax.random.PRNGKey(0)),
                                       jax.random.PRNGKey(1), 2)
    assert state.carry is None and rows.extras == {}
    np.testing.assert_allclose(np.asarray(rows.action), np.tanh(-0.3), rtol=1e-6)
