"""Any gymnasium env with image observations through `gym:`: a uint8 [H, W, 3] spec, frames that stay uint8 when
stepped, collected and stored, and the last frame of an ended episode in `final_obs`."""

import jax
import jax.numpy as jnp
import numpy as np
from moving_square_gym_env import SIDE, SIZE, SQUARE_ID

import envs
from core import replay
from core.rollout import HostCollector, memoryless
from core.transitions import check_fits, example

ALWAYS_RIGHT = memoryless(lambda params, obs, key: jnp.ones(obs.shape[0], jnp.int32))


def test_image_env_spec_is_uint8_frames():
    for name in (f"gym:{SQUARE_ID}", f"gym:moving_square_gym_env:{SQUARE_ID}"):
        env = envs.make(name)
        assert not envs.is_jax_env(env)
        assert env.spec.observation_space == envs.Box.uniform(0, 255, (SIZE, SIZE, 3), np.uint8)
        assert env.spec.max_episode_steps == 30


def test_image_env_collects_uint8_frames_and_the_final_frame():
    env = envs.make(f"gym:{SQUARE_ID}")
    collector = HostCollector(env, num_envs=2, seed=0, act=ALWAYS_RIGHT)
    state = collector.reset()
    assert state.obs.dtype == np.uint8 and state.obs.shape == (2, SIZE, SIZE, 3)
    steps = SIZE - SIDE  # the square reaches the right edge on the last of these
    state, transitions, totals = collector.rollout(None, state, jax.random.key(0), steps)
    collector.close()
    assert transitions.obs.dtype == jnp.uint8 and transitions.obs.shape == (steps, 2, SIZE, SIZE, 3)
    assert transitions.next_obs.dtype == jnp.uint8
    np.testing.assert_array_equal(transitions.terminated[:, 0], [False] * (steps - 1) + [True])
    last = np.asarray(transitions.next_obs[-1, 0])
    assert last[10, SIZE - 1, 0] == 255 and last[10, 0, 0] == 0  # the final frame: square at the right edge
    assert state.obs[0, 10, 0, 0] == 255  # the next episode's first frame: square back on the left
    assert int(totals["episodes"]) == 2
    check_fits(transitions, env.spec, "moving square", leading=2)
    rows = jax.tree.map(lambda x: jnp.asarray(x).reshape(-1, *np.shape(x)[2:]), transitions)
    buffer = replay.add(replay.init(example(env.spec), capacity=64), rows)
    assert buffer.data.obs.dtype == jnp.uint8
