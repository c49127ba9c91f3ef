"""`pixels:` envs through `envs.make`: uint8 frames of the asked size under jit and vmap, the same frames for
the same key, distractors that change the picture but not the task or its reward, the probe targets in `info`,
action repeat, and pixel transitions stored as uint8 by the collector."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from core import replay
from core.transitions import check_fits, example, from_step
from envs.pixels import TASKS
from envs.pixels.scene import DEFAULT_COLOURS

# Every rollout runs 4 agent steps with a 3-step time limit, so each one also crosses an episode boundary.
STEPS, BATCH, LIMIT = 4, 2, 3


def actions_for(env) -> jax.Array:
    """A fixed `[BATCH, action_dim]` action, different per env of the batch."""
    return jnp.linspace(-1.0, 1.0, BATCH * env.task.action_dim).reshape(BATCH, env.task.action_dim)


@functools.partial(jax.jit, static_argnums=0)
def run(env, key):
    reset_key, step_key = jax.random.split(key)
    state, first = jax.vmap(env.reset)(jax.random.split(reset_key, BATCH))

    def body(state, key):
        return jax.vmap(env.step)(state, actions_for(env), jax.random.split(key, BATCH))

    return first, jax.lax.scan(body, state, jax.random.split(step_key, STEPS))[1]


@functools.cache
def rollout(options: str, seed: int = 0):
    """`(env, first TimeStep [B], TimeStep [T, B])` as numpy, for `pixels:{options}` with the time limit; `run`
    compiles once per distinct env (equal envs share the compiled program)."""
    env = envs.make(f"pixels:{options}", max_episode_steps=LIMIT)
    first, steps = jax.tree.map(np.asarray, run(env, jax.random.key(seed)))
    return env, first, steps


def floor_uint8(colour=DEFAULT_COLOURS.floor) -> np.ndarray:
    return np.round(np.asarray(colour) * 255).astype(np.uint8)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_rolls_out_under_jit_and_vmap(task):
    env, first, steps = rollout(task)
    assert env.spec.observation_space == envs.Box.uniform(0, 255, (32, 32, 3), np.uint8)
    assert env.spec.action_space.shape == (env.task.action_dim,)
    assert first.obs.shape == (BATCH, 32, 32, 3) and first.obs.dtype == np.uint8
    assert steps.obs.shape == (STEPS, BATCH, 32, 32, 3) and steps.obs.dtype == np.uint8
    assert steps.info["final_obs"].dtype == np.uint8
    assert np.all((steps.reward >= 0.0) & (steps.reward <= env.action_repeat))
    for timestep, lead in ((first, (BATCH,)), (steps, (STEPS, BATCH))):
        assert timestep.info["task_state"].shape == (*lead, len(env.task.state_names))
        assert timestep.info["task_features"].shape == (*lead, len(env.task.feature_names))
        assert timestep.info["distractor_state"].shape == (*lead, 0)
    assert not np.array_equal(steps.obs[0], steps.obs[1])  # the body moves
    # Never terminated; truncated by the time limit, then a fresh episode.
    assert not steps.terminated.any()
    np.testing.assert_array_equal(steps.truncated[:, 0], [False, False, True, False])
    np.testing.assert_array_equal(steps.info["episode_length"][:, 0], [1, 2, 3, 1])
    np.testing.assert_array_equal(steps.obs[:2], steps.info["final_obs"][:2])
    assert not np.array_equal(steps.obs[2], steps.info["final_obs"][2])


def test_default_time_limit_is_1000_physics_steps():
    assert envs.make("pixels:cartpole_swingup").spec.max_episode_steps == 500
    assert envs.make("pixels:cartpole_swingup?action_repeat=3").spec.max_episode_steps == 333
    assert envs.make("pixels:cartpole_swingup?action_repeat=4&max_episode_steps=50").spec.max_episode_steps == 50


def test_64_pixel_frames():
    env = envs.make("pixels:reacher2?size=64&distractor=shapes")
    _, timestep = jax.jit(env.reset)(jax.random.key(0))
    assert env.spec.observation_space.shape == (64, 64, 3)
    assert timestep.obs.shape == (64, 64, 3) and timestep.obs.dtype == jnp.uint8


def test_same_key_same_frames_other_key_other_frames():
    _, first, steps = rollout("pendulum_swingup?distractor=shapes")
    again = envs.make("pixels:pendulum_swingup?distractor=shapes", max_episode_steps=LIMIT)  # a second env
    first_again, steps_again = run(again, jax.random.key(0))
    np.testing.assert_array_equal(first.obs, first_again.obs)
    np.testing.assert_array_equal(steps.obs, steps_again.obs)
    _, other = run(again, jax.random.key(1))
    assert not np.array_equal(steps.obs, other.obs)


@pytest.mark.parametrize("distractor", ["noise", "shapes", "video", "color"])
def test_distractors_change_the_frames_but_not_the_task(distractor):
    _, plain_first, plain = rollout("pendulum_swingup")
    _, first, steps = rollout(f"pendulum_swingup?distractor={distractor}")
    np.testing.assert_array_equal(first.info["task_state"], plain_first.info["task_state"])
    np.testing.assert_array_equal(steps.info["task_state"], plain.info["task_state"])
    np.testing.assert_array_equal(steps.info["task_features"], plain.info["task_features"])
    np.testing.assert_array_equal(steps.reward, plain.reward)
    changed = np.any(steps.obs != plain.obs, axis=-1).mean(axis=(-1, -2))  # share of pixels changed, [T, B]
    assert np.all(changed > 0.05)


def test_no_distractor_background_is_the_constant_floor():
    _, first, steps = rollout("pendulum_swingup")
    frames = np.concatenate([first.obs[None], steps.obs])  # the pendulum never reaches the corners
    for corner in (frames[..., :4, :4, :], frames[..., -4:, -4:, :]):
        assert np.all(corner == floor_uint8())


def test_noise_is_drawn_afresh_every_frame():
    _, _, steps = rollout("pendulum_swingup?distractor=noise")
    corners = steps.obs[..., :6, :6, :].astype(np.int32)  # background only
    assert np.all(np.any(corners[1:] != corners[:-1], axis=(-1, -2, -3)))  # every frame new, in every env
    assert np.any(corners[:, 0] != corners[:, 1])
    spread = (corners - floor_uint8()).std()
    assert 25 < spread < 60  # sigma 0.2 = 51 grey levels, less where the dark floor clips at 0


def test_shapes_move_inside_the_frame_and_their_centres_are_in_info():
    _, first, steps = rollout("pendulum_swingup?distractor=shapes")
    centres = np.concatenate([first.info["distractor_state"][None], steps.info["distractor_state"]])
    assert centres.shape == (STEPS + 1, BATCH, 12)  # six shapes by default, (x, y) each
    assert np.all(np.abs(centres) <= 1.0)
    assert np.all(np.any(centres[1:] != centres[:-1], axis=-1))
    moves = np.abs(np.diff(centres[:LIMIT + 1], axis=0)).reshape(LIMIT, BATCH, 6, 2)  # within the episode
    assert np.all(moves <= 2 * 0.04 + 1e-6)  # at most two physics steps at the top speed
    env = envs.make("pixels:pendulum_swingup?distractor=shapes&num_shapes=4")
    info = env.extra_info(env.initial_state(jax.random.key(0)))
    assert info["distractor_state"].shape == (8,)


def test_video_scrolls_and_restarts_with_the_episode():
    _, first, steps = rollout("pendulum_swingup?distractor=video")
    offsets = np.concatenate([first.info["distractor_state"][None], steps.info["distractor_state"]])
    assert offsets.shape == (STEPS + 1, BATCH, 2)
    np.testing.assert_allclose(offsets[0], 0.0)
    speeds = np.linalg.norm(np.diff(offsets[:LIMIT + 1], axis=0), axis=-1)  # two physics steps per agent step
    assert np.all((speeds > 2 * 0.01 - 1e-6) & (speeds < 2 * 0.03 + 1e-6))
    restarted = np.linalg.norm(offsets[-1], axis=-1)  # one agent step into the next episode
    assert np.all((restarted > 2 * 0.01 - 1e-6) & (restarted < 2 * 0.03 + 1e-6))
    corners = steps.obs[..., :6, :6, :]
    assert np.all(np.any(corners[1:] != corners[:-1], axis=(-1, -2, -3)))


def test_color_redraws_body_and_floor_per_episode():
    _, first, steps = rollout("pendulum_swingup?distractor=color")
    colours = steps.info["distractor_state"]
    assert colours.shape == (STEPS, BATCH, 6)
    np.testing.assert_array_equal(first.info["distractor_state"], colours[0])  # constant within an episode
    np.testing.assert_array_equal(colours[0], colours[LIMIT - 1])
    assert not np.allclose(colours[0, 0], colours[0, 1])  # drawn per episode
    assert not np.allclose(colours[0], colours[LIMIT])
    for b in range(BATCH):
        # The step that ends an episode shows the next one's first frame; its final_obs, the old colours.
        for t, colour in ((0, colours[0]), (LIMIT - 1, colours[LIMIT]), (LIMIT, colours[LIMIT])):
            assert np.all(steps.obs[t, b, :4, :4, :] == floor_uint8(colour[b, 3:]))
        assert np.all(steps.info["final_obs"][LIMIT - 1, b, :4, :4, :] == floor_uint8(colours[0, b, 3:]))


def test_info_features_are_the_true_state():
    _, first, steps = rollout("pendulum_swingup")
    for timestep in (first, steps):
        theta, theta_dot = timestep.info["task_state"][..., 0], timestep.info["task_state"][..., 1]
        expected = np.stack([np.cos(theta), np.sin(theta), theta_dot], axis=-1)
        np.testing.assert_allclose(timestep.info["task_features"], expected, rtol=1e-5, atol=1e-6)


def test_the_pendulums_invariant_features_do_not_change_under_the_mirror_image():
    task = TASKS["pendulum_swingup"]()
    state = jnp.array([0.7, -1.3])
    mirrored = task.invariant_features(-state)
    np.testing.assert_allclose(task.invariant_features(state), mirrored, atol=1e-6)
    np.testing.assert_allclose(mirrored, task.features(state), atol=1e-6)  # sin theta > 0: the features themselves
    np.testing.assert_allclose(task.invariant_features(jnp.array([-0.7, 1.3])), task.features(state), atol=1e-6)
    _, first, _ = rollout("pendulum_swingup")
    assert first.info["task_invariant_features"].shape == (BATCH, 3)
    assert "task_invariant_features" not in rollout("point_mass_reach")[1].info  # no mirror declared


def test_the_shapes_density_is_order_free_and_peaks_where_the_centres_are():
    env = envs.make("pixels:pendulum_swingup?distractor=shapes&num_shapes=2")
    state = env.initial_state(jax.random.key(0))
    shapes = state.distractor.replace(centres=jnp.array([[-0.75, -0.75], [0.25, 0.75]]))
    density = env.background.features(shapes)
    swapped = env.background.features(shapes.replace(centres=shapes.centres[::-1]))
    np.testing.assert_allclose(density, swapped, rtol=1e-6)
    assert density.shape == (16,) and set(np.argsort(density)[-2:]) == {0, 14}  # cells (row 0, col 0), (3, 2)
    np.testing.assert_allclose(density.max(), 1.0, atol=0.01)  # a centre on a grid point, the other far away
    _, first, _ = rollout("pendulum_swingup?distractor=video")
    np.testing.assert_array_equal(first.info["distractor_features"], first.info["distractor_state"])


def test_action_repeat_advances_task_and_distractor_k_times_and_sums_rewards():
    once = envs.make("pixels:point_mass_reach?distractor=shapes&action_repeat=1")
    thrice = envs.make("pixels:point_mass_reach?distractor=shapes&action_repeat=3")
    state = thrice.initial_state(jax.random.key(3))
    action = jnp.array([0.7, -0.4])
    one_step = jax.jit(once.transition)
    stepped, total = state, 0.0
    for i in range(3):
        stepped, reward, _ = one_step(stepped, action, jax.random.key(i))
        total += float(reward)
    repeated, repeated_reward, terminated = jax.jit(thrice.transition)(state, action, jax.random.key(9))
    np.testing.assert_allclose(repeated.task, stepped.task, rtol=1e-6)
    np.testing.assert_allclose(repeated.distractor.centres, stepped.distractor.centres, rtol=1e-6)
    np.testing.assert_allclose(float(repeated_reward), total, rtol=1e-5)
    assert not bool(terminated) and total > 0.0


def test_transitions_and_replay_keep_pixels_uint8():
    env, first, steps = rollout("pendulum_swingup")
    obs = np.stack([first.obs, *steps.obs[:-1]])
    actions = np.broadcast_to(actions_for(env), (STEPS, BATCH, 1))
    transitions = from_step(obs, actions, steps, np.zeros((STEPS, BATCH), bool))
    check_fits(transitions, env.spec, "pixels rollout", leading=2)
    rows = jax.tree.map(lambda x: jnp.asarray(x).reshape(-1, *np.shape(x)[2:]), transitions)
    buffer = replay.add(replay.init(example(env.spec), capacity=16), rows)
    assert buffer.data.obs.dtype == jnp.uint8 and buffer.data.next_obs.dtype == jnp.uint8
    np.testing.assert_array_equal(buffer.data.obs[:STEPS * BATCH], rows.obs)
