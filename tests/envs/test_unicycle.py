"""`hybrid:unicycle_resources`: RK4 steps follow the unicycle's closed-form arcs, and the only reward is minus
the distance to the nearest resource at the last step."""

import jax
import jax.numpy as jnp
import numpy as np

import envs


def test_a_held_action_follows_the_closed_form_arc():
    env = envs.make("hybrid:unicycle_resources")
    x0, y0, theta0 = 0.3, -1.2, 0.7
    action = jnp.array([0.8, -0.6])
    v, omega = env.max_speed * 0.8, env.max_turn * -0.6
    pose = jnp.array([x0, y0, theta0])
    for _ in range(20):
        pose = env.advance(pose, action)
    t = 20 * env.dt
    expected = [x0 + v / omega * (np.sin(theta0 + omega * t) - np.sin(theta0)),
                y0 - v / omega * (np.cos(theta0 + omega * t) - np.cos(theta0)), theta0 + omega * t]
    np.testing.assert_allclose(np.asarray(pose), expected, atol=1e-5)


def test_the_return_is_minus_the_final_distance_to_the_nearest_resource():
    env = envs.make("hybrid:unicycle_resources?max_episode_steps=6")
    state, timestep = env.reset(jax.random.PRNGKey(3))
    rewards = []
    for step in range(6):
        inner = state.inner
        state, timestep = env.step(state, jnp.array([1.0, 0.2]), jax.random.PRNGKey(step))
        rewards.append(float(timestep.reward))
    assert rewards[:-1] == [0.0] * 5 and bool(timestep.truncated)
    final = env.advance(inner.pose, jnp.array([1.0, 0.2]))
    distance = np.min(np.linalg.norm(np.asarray(inner.resources) - np.asarray(final[:2]), axis=-1))
    np.testing.assert_allclose(rewards[-1], -distance, rtol=1e-5)
    obs = np.asarray(timestep.info["final_obs"])
    np.testing.assert_allclose(obs[4:], np.asarray(inner.resources).reshape(-1))
