"""The meta-RL random-projection wrapper: maps fixed within a meta-episode, fresh across them, trials, names."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.pomdp import MetaProjection, projected_cartpole


def _rollout(env, steps, seed=0):
    key = jax.random.key(seed)
    state, first = env.reset(key)
    states, steps_out = [state], []
    for _ in range(steps):
        key, action_key, step_key = jax.random.split(key, 3)
        state, step = env.step(state, env.action_space.sample(action_key), step_key)
        states.append(state)
        steps_out.append(step)
    return first, states, steps_out


def test_projected_cartpole_layout_trials_and_fresh_maps():
    env = projected_cartpole(trials=3, max_steps=5)
    assert env.observation_space.shape == (7,) and env.action_space == envs.Discrete(2)
    assert env.max_episode_steps == 15
    with jax.disable_jit():
        first, states, steps = _rollout(env, 40)
    assert first.obs[5] == 1.0 and first.obs[4] == 0.0  # first flag set, no trial ended yet
    w = np.asarray(states[0].obs_map)
    np.testing.assert_allclose(w.T @ w, 2.0 * np.eye(2), atol=1e-5)  # orthogonal columns, gain sqrt 2
    done = np.array([bool(s.terminated | s.truncated) for s in steps])
    trial_ends = np.array([bool(s.obs[4]) for s in steps])  # the trial-done flag on the next obs
    end = int(np.argmax(done))
    assert int(steps[end].info["trial"]) == 2 and trial_ends[:end].sum() == 2  # 3 trials, 2 inner boundaries
    # The map is fixed inside the meta-episode and redrawn at its end.
    assert all(np.array_equal(states[t].obs_map, w) for t in range(end + 1))
    assert not np.array_equal(states[end + 1].obs_map, w)
    np.testing.assert_allclose(steps[0].obs[:4], w @ np.asarray(states[1].obs), atol=1e-6)


def test_continuous_bases_project_actions_and_switch_tasks():
    env = envs.make("pomdp:meta?base=jax:Pendulum-v1,jax:Pendulum?g=5.0&trials=2&obs_dim=12&act_dim=2")
    assert isinstance(env, MetaProjection) and len(env.bases) == 2
    assert env.observation_space.shape == (12 + 1 + 2 + 2,) and env.action_space.shape == (2,)
    m = np.asarray(env.reset(jax.random.key(1))[0].action_map)
    np.testing.assert_allclose(m @ m.T, np.eye(2), atol=1e-5)
    # The first action dimension the pendulum sees is clip(M a)[0], rescaled to [-2, 2].
    action = jnp.array([0.3, -0.2])
    expected = 2.0 * np.clip(m @ np.asarray(action), -1, 1)[0]
    assert float(env._base_action(env.bases[0], action, jnp.asarray(m))[0]) == pytest.approx(expected, abs=1e-5)

    @jax.jit
    def run(key):
        keys = jax.random.split(key, 16)
        state, _ = jax.vmap(env.reset)(keys)

        def body(state, key):
            keys = jax.random.split(key, 16)
            actions = jax.vmap(env.action_space.sample)(keys)
            state, step = jax.vmap(env.step)(state, actions, keys)
            return state, (step.truncated, step.info["task"], step.info["episode_length"])

        return jax.lax.scan(body, state, jax.random.split(key, 2 * 200 + 1))[1]

    truncated, task, length = run(jax.random.key(0))
    assert np.asarray(length)[np.asarray(truncated)].tolist() == [400] * int(truncated.sum()) and truncated.any()
    assert set(np.asarray(task).ravel().tolist()) == {0, 1}


def test_same_start_state_replays_the_first_trial_start():
    env = projected_cartpole(trials=3, max_steps=4, same_start_state=True)
    with jax.disable_jit():
        _, states, steps = _rollout(env, 8)
    start = np.asarray(states[0].base_states[0].inner)
    np.testing.assert_array_equal(np.asarray(states[4].base_states[0].inner), start)  # after trial 1 (4 steps)
    assert steps[3].obs[4] == 1.0


def test_bad_bases_are_clear_errors():
    with pytest.raises(ValueError, match="all have Box actions or all Discrete"):
        MetaProjection((envs.make("jax:CartPole"), envs.make("jax:Pendulum")))
    with pytest.raises(envs.EnvNotFoundError):
        envs.make("pomdp:meta?base=jax:Pendulm")
    assert math.isclose(projected_cartpole().gain, math.sqrt(2))
