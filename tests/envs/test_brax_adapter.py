"""Raw brax envs behind our protocol: shapes, jit/scan/vmap, and terminated vs truncated."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.brax_adapter import BraxEnv


def rollout(env, action, steps: int, batch: int, seed: int = 0):
    """`steps` steps of `batch` envs with one constant action, as one jitted scan over a vmapped step."""

    @jax.jit
    def run(key):
        keys = jax.random.split(key, batch)
        states, first = jax.vmap(env.reset)(keys)

        def body(states, key):
            states, timestep = jax.vmap(env.step, in_axes=(0, None, 0))(states, action, jax.random.split(key, batch))
            return states, timestep

        return first, jax.lax.scan(body, states, jax.random.split(key, steps))[1]

    return run(jax.random.key(seed))


def test_fast_env_shapes_and_time_limit():
    env = BraxEnv("fast", episode_length=5)
    assert env.spec.observation_space.shape == (2,) and env.spec.action_space.shape == (1,)
    np.testing.assert_array_equal(env.action_space.low, [-1.0])
    first, ts = rollout(env, jnp.ones(1), steps=12, batch=3)
    assert first.obs.shape == (3, 2) and ts.obs.shape == (12, 3, 2) and ts.obs.dtype == jnp.float32
    assert not np.asarray(ts.terminated).any()  # `fast` never terminates: only our time limit ends it
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(ts.truncated[:, 0])), [4, 9])
    # The step that truncates keeps the moved cart in final_obs and hands out a fresh (zero) start as obs.
    assert np.all(np.asarray(ts.info["final_obs"][4]) > 0) and np.all(np.asarray(ts.obs[4]) == 0)
    np.testing.assert_array_equal(ts.info["episode_length"][4], [5, 5, 5])


def test_inverted_pendulum_terminates_on_brax_done():
    # A real physics backend (spring: the cheapest to compile, still the slowest test here at ~4 s on an idle
    # CPU). Full push topples the pole within ~7 steps, far before the time limit.
    env = BraxEnv("inverted_pendulum", backend="spring")
    assert env.spec.observation_space.shape == (4,) and env.max_episode_steps == 1000
    _, ts = rollout(env, jnp.ones(1), steps=10, batch=1)
    terminated = np.asarray(ts.terminated[:, 0])
    assert terminated.any() and not np.asarray(ts.truncated).any()
    end = int(np.argmax(terminated))
    assert int(ts.info["episode_length"][end, 0]) == end + 1
    assert int(ts.info["episode_length"][end + 1, 0]) == 1


def test_system_edit_replaces_the_system_the_env_steps():
    import envs
    from envs.brax_adapter import SystemEditError

    stronger = jnp.array([0.0, 0.0, -30.0])
    edited = envs.make("brax:inverted_pendulum?backend=spring",
                       system_edit=lambda sys: sys.replace(gravity=stronger))
    np.testing.assert_array_equal(edited.brax_env.sys.gravity, stronger)
    assert edited.spec.observation_space.shape == (4,)
    # The same rollout as the termination test above (compiled once for both), with the edited gravity.
    _, plain = rollout(BraxEnv("inverted_pendulum", backend="spring"), jnp.ones(1), steps=10, batch=1)
    _, heavier = rollout(edited, jnp.ones(1), steps=10, batch=1)
    assert not np.allclose(np.asarray(plain.obs), np.asarray(heavier.obs))
    with pytest.raises(SystemEditError, match="must return the edited System"):
        BraxEnv("inverted_pendulum", backend="spring", system_edit=lambda sys: None)
    with pytest.raises(SystemEditError, match="has none"):
        BraxEnv("fast", system_edit=lambda sys: sys)


def test_a_physics_blowup_ends_the_episode_at_the_last_finite_state():
    from brax import envs as brax_envs
    from brax.envs.fast import Fast

    class BlowsUp(Fast):
        """brax's `fast`, whose observation turns NaN once the cart passes speed 0.05 (the third step at full push)."""

        def step(self, state, action):
            state = super().step(state, action)
            return state.replace(obs=jnp.where(state.obs[1] > 0.05, jnp.nan, state.obs))

    brax_envs.register_environment("blows_up", BlowsUp)
    env = BraxEnv("blows_up", episode_length=50)
    _, ts = rollout(env, jnp.ones(1), steps=8, batch=2)
    terminated = np.asarray(ts.terminated[:, 0])
    assert np.isfinite(np.asarray(ts.obs)).all() and np.isfinite(np.asarray(ts.info["final_obs"])).all()
    assert np.isfinite(np.asarray(ts.reward)).all()
    end = int(np.argmax(terminated))
    assert terminated.any() and not np.asarray(ts.truncated).any()
    assert float(ts.reward[end, 0]) == 0.0  # the blown-up step pays nothing
    # the episode ends at the last finite state, where the step before it left the cart
    np.testing.assert_allclose(ts.info["final_obs"][end], ts.obs[end - 1])
    assert int(ts.info["episode_length"][end + 1, 0]) == 1  # and a fresh one starts


def test_max_abs_obs_counts_a_huge_observation_as_a_blowup():
    env = BraxEnv("fast", episode_length=50, max_abs_obs=0.05)  # the cart passes speed 0.05 at the third step
    _, ts = rollout(env, jnp.ones(1), steps=4, batch=1)
    np.testing.assert_array_equal(np.asarray(ts.terminated[:, 0]), [False, False, True, False])
    assert float(np.abs(np.asarray(ts.info["final_obs"][2])).max()) <= 0.05
    with pytest.raises(ValueError, match="max_abs_obs must be a positive number"):
        BraxEnv("fast", max_abs_obs=-1)
