"""ActionRepeat: k inner steps per agent step with their rewards summed, stopping where the inner episode ends
(flags, final_obs and the fresh obs of that step), episode length and time limit in agent steps; jit + vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax_counter_env import Counter

from envs.wrappers import ActionRepeat
from envs.wrappers.action_repeat import ActionRepeatError


def rollout(env, actions):
    """`actions [B]` held for `steps` agent steps over a vmapped batch, one jitted scan."""

    @jax.jit
    def run(key, steps=4):
        state, _ = jax.vmap(env.reset)(jax.random.split(key, actions.shape[0]))

        def body(state, key):
            return jax.vmap(env.step)(state, actions, jax.random.split(key, actions.shape[0]))

        return jax.lax.scan(body, state, jax.random.split(key, steps))[1]

    return run(jax.random.key(0))


def test_repeats_sum_rewards_and_stop_at_the_episode_end():
    env = ActionRepeat(Counter(target=5, report_position=True), 2)
    steps = rollout(env, jnp.array([1, 2], jnp.int32))
    # env 0 moves 1 per inner step: positions (1,2) (3,4) (5: ends, the second repeat is dropped) (1,2)
    np.testing.assert_array_equal(steps.reward[:, 0], [3, 7, 5, 3])
    np.testing.assert_array_equal(steps.terminated[:, 0], [False, False, True, False])
    np.testing.assert_array_equal(steps.info["final_obs"][:, 0, 0], [2, 4, 5, 2])
    np.testing.assert_array_equal(steps.obs[:, 0, 0], [2, 4, 0, 2])
    assert int(steps.info["episode_length"][2, 0]) == 3 and float(steps.info["episode_return"][2, 0]) == 15
    np.testing.assert_array_equal(steps.info["position"][:, 0], [2, 4, 5, 2])  # the inner env's extra info
    # env 1 moves 2: positions (2,4) (6: ends after one inner step) (2,4) (6: ends)
    np.testing.assert_array_equal(steps.reward[:, 1], [6, 6, 6, 6])
    np.testing.assert_array_equal(steps.terminated[:, 1], [False, True, False, True])
    np.testing.assert_array_equal(steps.info["final_obs"][:, 1, 0], [4, 6, 4, 6])
    np.testing.assert_array_equal(steps.info["episode_length"][:, 1], [1, 2, 1, 2])


def test_time_limit_and_truncation_count_agent_steps():
    env = ActionRepeat(Counter(target=100, max_episode_steps=5), 2)
    assert env.max_episode_steps == 3 and env.spec.max_episode_steps == 3
    steps = rollout(env, jnp.array([1], jnp.int32))
    np.testing.assert_array_equal(steps.truncated[:, 0], [False, False, True, False])
    assert not steps.terminated.any()
    np.testing.assert_array_equal(steps.reward[:, 0], [3, 7, 5, 3])  # the truncating agent step is one inner step
    assert int(steps.info["episode_length"][2, 0]) == 3


def test_one_repeat_is_the_inner_env_and_bad_counts_are_refused():
    inner = Counter(target=3)
    np.testing.assert_array_equal(rollout(ActionRepeat(inner, 1), jnp.array([1])).reward,
                                  rollout(inner, jnp.array([1])).reward)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ActionRepeatError, match="positive integer"):
            ActionRepeat(inner, bad)
