"""`JaxEnv.extra_info`: entries join `info` at reset and at every step, taken from the state the step reached
before auto-reset, with the same keys and shapes under jit and vmap; protocol entries cannot be replaced."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax_counter_env import Counter

from envs.protocol import InfoKeyError


def rollout(env, actions, seed=0):
    """`actions [T, B]` through a vmapped env, one jitted scan; -> (reset timestep, stacked step timesteps)."""

    @jax.jit
    def run(key):
        reset_key, step_key = jax.random.split(key)
        state, first = jax.vmap(env.reset)(jax.random.split(reset_key, actions.shape[1]))

        def body(state, inputs):
            action, key = inputs
            keys = jax.random.split(key, actions.shape[1])
            return jax.vmap(env.step)(state, action, keys)

        return first, jax.lax.scan(body, state, (actions, jax.random.split(step_key, actions.shape[0])))[1]

    return run(jax.random.key(seed))


def test_extra_info_reports_the_state_before_auto_reset_under_jit_and_vmap():
    env = Counter(target=5, report_position=True)
    actions = jnp.array([[1, 2]] * 8, jnp.int32)  # env 0 ends after 5 steps, env 1 after 3
    first, steps = rollout(env, actions)
    np.testing.assert_array_equal(first.info["position"], [0, 0])
    position = np.asarray(steps.info["position"])
    assert position.shape == (8, 2) and position.dtype == np.int32
    np.testing.assert_array_equal(position[:, 0], [1, 2, 3, 4, 5, 1, 2, 3])
    np.testing.assert_array_equal(position[:, 1], [2, 4, 6, 2, 4, 6, 2, 4])
    done = np.asarray(steps.done)
    # Where an episode ended the entry describes its last state, like final_obs, not the fresh start in obs.
    np.testing.assert_array_equal(position[done], np.asarray(steps.info["final_obs"])[done][:, 0])
    assert np.all(np.asarray(steps.obs)[done] == 0)


def test_no_extra_info_keeps_the_protocol_entries_only():
    _, steps = rollout(Counter(), jnp.ones((3, 1), jnp.int32))
    assert set(steps.info) == {"final_obs", "episode_return", "episode_length"}


class ReplacesFinalObs(Counter):
    def extra_info(self, state):
        return {"final_obs": state}


def test_extra_info_may_not_replace_protocol_entries():
    with pytest.raises(InfoKeyError, match="final_obs"):
        ReplacesFinalObs().reset(jax.random.key(0))
