"""Our CartPole-v1 and Pendulum-v1 ports against gymnasium's originals, plus auto-reset, jit and vmap."""

import functools

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.classic import CartPole, Pendulum

ATOL = 1e-4


@functools.cache
def jitted(env):
    """One compile per env configuration for the whole module (the ports are frozen, hashable dataclasses)."""
    return jax.jit(env.reset), jax.jit(env.step)


def run_episode_against_gymnasium(env, gym_id: str, seed: int):
    """Start gymnasium from our initial state, feed both the same random actions, compare every step."""
    reset, step = jitted(env)
    key = jax.random.key(seed)
    key, reset_key = jax.random.split(key)
    state, timestep = reset(reset_key)

    original = gymnasium.make(gym_id)
    original.reset(seed=seed)
    original.unwrapped.state = np.asarray(state.inner, np.float64)
    original.action_space.seed(seed)

    for t in range(env.max_episode_steps):
        action = original.action_space.sample()
        key, step_key = jax.random.split(key)
        state, timestep = step(state, jnp.asarray(action), step_key)
        obs, reward, terminated, truncated, _ = original.step(action)
        np.testing.assert_allclose(timestep.info["final_obs"], obs, atol=ATOL, err_msg=f"obs at step {t}")
        np.testing.assert_allclose(timestep.reward, reward, atol=ATOL, err_msg=f"reward at step {t}")
        assert bool(timestep.terminated) == terminated, f"terminated at step {t}"
        assert bool(timestep.truncated) == truncated, f"truncated at step {t}"
        if terminated or truncated:
            assert int(timestep.info["episode_length"]) == t + 1
            return t + 1
    raise AssertionError("gymnasium never ended the episode")


@pytest.mark.parametrize("seed", range(4))
def test_cartpole_matches_gymnasium(seed):
    # Random actions end CartPole in tens of steps, well before float32 drift matters.
    length = run_episode_against_gymnasium(CartPole(), "CartPole-v1", seed)
    assert length < 500


@pytest.mark.parametrize("seed", range(2))
def test_pendulum_matches_gymnasium_over_a_whole_episode(seed):
    # gymnasium integrates in float64; 200 float32 steps drift by ~1e-4, so compare the whole episode in float64.
    with jax.enable_x64(True):
        length = run_episode_against_gymnasium(Pendulum(), "Pendulum-v1", seed)
    assert length == 200  # truncated by the time limit, never terminated


def test_pendulum_float32_single_steps_match_gymnasium():
    # In the default float32 mode each transition must still match from any state, torque clipping included.
    env, original = Pendulum(), gymnasium.make("Pendulum-v1").unwrapped
    original.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        state = rng.uniform([-3 * np.pi, -8.0], [3 * np.pi, 8.0]).astype(np.float32)
        action = rng.uniform(-3.0, 3.0, (1,)).astype(np.float32)
        next_state, reward, terminated = env.transition(jnp.asarray(state), jnp.asarray(action), jax.random.key(0))
        original.state = state.astype(np.float64)
        obs, gym_reward, *_ = original.step(action)
        np.testing.assert_allclose(env.observe(next_state, None), obs, atol=ATOL)
        np.testing.assert_allclose(reward, gym_reward, atol=ATOL, rtol=1e-5)
        assert not terminated


def test_spaces_match_gymnasium():
    for env, gym_id in [(CartPole(), "CartPole-v1"), (Pendulum(), "Pendulum-v1")]:
        original = gymnasium.make(gym_id)
        np.testing.assert_allclose(env.observation_space.low, original.observation_space.low)
        np.testing.assert_allclose(env.observation_space.high, original.observation_space.high)
        assert env.max_episode_steps == original.spec.max_episode_steps
    assert CartPole().action_space.n == 2
    np.testing.assert_array_equal(Pendulum().action_space.high, [2.0])


def scan_constant_action(env, action, steps: int, seed: int = 0):
    def body(state, key):
        state, timestep = env.step(state, action, key)
        return state, timestep

    key, reset_key = jax.random.split(jax.random.key(seed))
    state, first = env.reset(reset_key)
    _, timesteps = jax.jit(lambda s, k: jax.lax.scan(body, s, jax.random.split(k, steps)))(state, key)
    return first, timesteps


def test_cartpole_auto_reset_draws_a_fresh_state_and_keeps_the_final_obs():
    first, ts = scan_constant_action(CartPole(), jnp.asarray(1), steps=60)
    end = int(np.argmax(np.asarray(ts.terminated)))
    assert ts.terminated[end] and not ts.truncated[:end + 1].any()
    final_obs, next_obs = np.asarray(ts.info["final_obs"][end]), np.asarray(ts.obs[end])
    # final_obs is the terminal observation: outside the termination bounds.
    assert abs(final_obs[0]) > 2.4 or abs(final_obs[2]) > CartPole().theta_threshold
    # obs is a fresh initial state: inside the initial box, and not the first episode's start replayed.
    assert np.all(np.abs(next_obs) <= 0.05)
    assert not np.allclose(next_obs, first.obs)
    assert int(ts.info["episode_length"][end]) == end + 1
    assert float(ts.info["episode_return"][end]) == end + 1
    # Steps that did not end an episode report final_obs == obs; the next episode counts from one again.
    np.testing.assert_array_equal(ts.info["final_obs"][:end], ts.obs[:end])
    assert int(ts.info["episode_length"][end + 1]) == 1


def test_pendulum_truncates_and_auto_resets_at_the_time_limit():
    _, ts = scan_constant_action(Pendulum(max_episode_steps=20), jnp.zeros(1), steps=45)
    assert not np.asarray(ts.terminated).any()
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(ts.truncated)), [19, 39])
    assert not np.allclose(ts.info["final_obs"][19], ts.obs[19])
    assert int(ts.info["episode_length"][19]) == 20
    np.testing.assert_allclose(ts.info["episode_return"][19], np.sum(ts.reward[:20]), rtol=1e-5)


@pytest.mark.parametrize("env", [CartPole(), Pendulum()], ids=["cartpole", "pendulum"])
def test_jit_and_vmap_over_a_batch(env):
    @jax.jit
    def reset_and_step(keys):
        _, first = jax.vmap(env.reset)(keys)
        states, _ = jax.vmap(env.reset)(keys)
        actions = jax.vmap(env.action_space.sample)(keys)
        return first, jax.vmap(env.step)(states, actions, keys)[1]

    first, timesteps = reset_and_step(jax.random.split(jax.random.key(1), 4))
    obs_shape = env.observation_space.shape
    assert first.obs.shape == (4, *obs_shape) and first.obs.dtype == jnp.float32
    assert len({tuple(np.asarray(o)) for o in first.obs}) == 4  # each env draws its own start
    assert timesteps.reward.shape == (4,) and timesteps.terminated.dtype == jnp.bool_
    assert timesteps.info["final_obs"].shape == (4, *obs_shape)
    assert all(env.observation_space.contains(o) for o in np.asarray(timesteps.obs))
