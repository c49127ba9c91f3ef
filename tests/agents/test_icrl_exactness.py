"""Parallel state reset is exact: what a recurrent policy computed acting step by step, with real
auto-resets, is recomputed by the training-time `scan` over the stored trajectory from the stored start carry,
by every back-end and in chunks, to 1e-5; dropping the resets changes it by more than 1e-2."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents.icrl import ICRLConfig
from agents.ppo import PPO
from core.rollout import batch_reset, batch_step

STEPS, NUM_ENVS = 300, 8
TOLERANCE = 1e-5


def act_and_record(agent: PPO, params, env, key, steps: int = STEPS, num_envs: int = NUM_ENVS):
    """Acts with `step` for `steps` steps; returns the stored trajectory and what acting computed."""
    env = agent.wrap_env(env)
    reset_key, run_key = jax.random.split(key)
    state, timestep = batch_reset(env, reset_key, num_envs)

    def one_step(carry, step_key):
        state, obs, first, memory = carry
        act_key, env_key = jax.random.split(step_key)
        memory, features = agent.remember(params, memory, obs, first)
        logits = agent.actor_net.apply(params["actor"], features)
        action = jax.random.categorical(act_key, logits)
        state, timestep = batch_step(env, state, action, env_key)
        record = {"obs": obs, "first": first, "logits": logits, "value": agent.value(params, features),
                  "carry": memory}
        return (state, timestep.obs, timestep.done, memory), record

    memory0 = agent.initial_memory(num_envs)
    init = (state, timestep.obs, jnp.ones(num_envs, bool), memory0)
    _, record = jax.lax.scan(one_step, init, jax.random.split(run_key, steps))
    return memory0, record


def replay(agent: PPO, params, memory0, obs, first):
    memory, features = agent.remember_sequence(params, memory0, obs, first)
    return memory, agent.actor_net.apply(params["actor"], features), agent.value(params, features)


def max_diff(a, b) -> float:
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def last_carry(record_carry, t: int):
    return jax.tree.map(lambda c: c[t], record_carry)


def check_scan_reproduces_acting(agent: PPO, params, env, key, methods: tuple[str, ...]):
    memory0, rec = jax.jit(lambda p, k: act_and_record(agent, p, env, k))(params, key)
    assert rec["first"][1:].sum() >= NUM_ENVS, "the trajectory must contain real auto-resets"
    for method in methods:
        options = ("method=" + method,) if method != "default" else ()
        replayer = PPO(dataclasses.replace(agent.config, memory_options=agent.config.memory_options + options),
                       agent.spec)
        memory, logits, value = jax.jit(functools.partial(replay, replayer))(params, memory0, rec["obs"], rec["first"])
        assert max_diff(logits, rec["logits"]) <= TOLERANCE, method
        assert max_diff(value, rec["value"]) <= TOLERANCE, method
        assert max_diff(memory, last_carry(rec["carry"], -1)) <= TOLERANCE, method

    # Three chunks of 100 with the carry passed between them, as consecutive rollouts do.
    replay_compiled = jax.jit(functools.partial(replay, agent))  # eagerly, every op would compile on its own
    memory, pieces = memory0, []
    for start in range(0, STEPS, 100):
        chunk = slice(start, start + 100)
        memory, logits, value = replay_compiled(params, memory, rec["obs"][chunk], rec["first"][chunk])
        assert max_diff(memory, last_carry(rec["carry"], start + 99)) <= TOLERANCE
        pieces.append((logits, value))
    assert max_diff(jnp.concatenate([p[0] for p in pieces]), rec["logits"]) <= TOLERANCE
    assert max_diff(jnp.concatenate([p[1] for p in pieces]), rec["value"]) <= TOLERANCE

    # Negative control: the same scan without the episode resets computes something else.
    no_resets = jnp.zeros_like(rec["first"]).at[0].set(True)
    _, logits, value = replay_compiled(params, memory0, rec["obs"], no_resets)
    assert max(max_diff(logits, rec["logits"]), max_diff(value, rec["value"])) > 1e-2


@pytest.mark.parametrize("memory,methods", [("s5", ("sequential", "parallel", "chunked")), ("gru", ("default",))])
def test_scan_over_a_stored_trajectory_reproduces_acting(memory, methods):
    env = envs.make("pomdp:PositionOnlyCartPoleEasy")
    agent = PPO(ICRLConfig(memory=memory), env.spec)
    params = jax.jit(agent.init)(jax.random.PRNGKey(3)).params
    check_scan_reproduces_acting(agent, params, env, jax.random.PRNGKey(4), methods)


def test_previous_action_inputs_follow_the_reset_convention():
    env = envs.make("pomdp:RepeatPreviousEasy")
    agent = PPO(ICRLConfig(memory="gru"), env.spec)
    wrapped = agent.wrap_env(env)
    assert agent.wrap_env(wrapped) is wrapped and wrapped.observation_space.shape == (4 + 4 + 1,)
    state, timestep = wrapped.reset(jax.random.PRNGKey(0))
    np.testing.assert_array_equal(timestep.obs[4:], [0, 0, 0, 0, 1])
    for t in range(60):  # one 52-card episode ends inside
        state, timestep = wrapped.step(state, jnp.int32(t % 4), jax.random.PRNGKey(t))
        expected = [0, 0, 0, 0, 1] if timestep.done else [*np.eye(4)[t % 4], 0]
        np.testing.assert_array_equal(timestep.obs[4:], expected)
        np.testing.assert_array_equal(timestep.info["final_obs"][4:], [*np.eye(4)[t % 4], 0])
    # The feed-forward agent sees the bare (one-hot) observation; so does a non-POPGym env.
    assert PPO(ICRLConfig(memory="none"), env.spec).wrap_env(env) is env
    assert PPO(ICRLConfig(memory="gru", prev_action=False), env.spec).wrap_env(env) is env
