"""What `pixels:` frames show and what the tasks reward: the body drawn where the state puts it, distractor
shapes at the centres `info` reports, palettes A and B disjoint, signed distances right, rewards in [0, 1] and
high only at the goal."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.pixels import TASKS, PixelState
from envs.pixels.distractors import Shapes, ShapesState
from envs.pixels.palettes import palette_of
from envs.pixels.render import box, capsule, disc, pixel_grid, view_to_pixel
from envs.pixels.scene import DEFAULT_COLOURS, DETAIL_SHADE

SIZE = 32



@functools.cache
def plain(task: str):
    """`(env, jitted render(task_state) -> uint8 frame)` without distractor."""
    env = envs.make(f"pixels:{task}?size={SIZE}")
    distractor = env.background.initial_state(jax.random.key(0), "A")
    frame = jax.jit(lambda task_state: env.observe(PixelState(task_state, distractor), jax.random.key(0)))
    return env, lambda task_state: np.asarray(frame(jnp.asarray(task_state, jnp.float32)))


def pixel_at(frame: np.ndarray, env, world_point) -> np.ndarray:
    row, col = view_to_pixel(env.task.view.to_view(jnp.asarray(world_point)), SIZE)
    return frame[row, col].astype(np.int32)


def as_uint8(colour) -> np.ndarray:
    return np.round(np.asarray(colour) * 255).astype(np.int32)


# Rods are under two pixels wide at 32 px, so a pixel on a rod's axis is only mostly covered: rods are checked with
# a looser tolerance than discs.
ROD = 16

BODY, DETAIL, TARGET, FLOOR = (as_uint8(DEFAULT_COLOURS.body), as_uint8(DETAIL_SHADE * DEFAULT_COLOURS.body),
                               as_uint8(DEFAULT_COLOURS.target), as_uint8(DEFAULT_COLOURS.floor))


def test_pixel_grid_and_view_to_pixel_agree():
    grid = np.asarray(pixel_grid(SIZE))
    assert grid.shape == (SIZE, SIZE, 2)
    for row, col in ((0, 0), (3, 17), (SIZE - 1, SIZE - 1)):
        assert view_to_pixel(grid[row, col], SIZE) == (row, col)
    assert grid[0, 0, 0] < 0 < grid[0, 0, 1]  # top left: x left, y up


def test_signed_distances():
    points = jnp.array([[0.0, 0.0], [2.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(disc(points, jnp.zeros(2), 1.0), [-1.0, 1.0, 4.0], atol=1e-6)
    np.testing.assert_allclose(box(points, jnp.zeros(2), jnp.array([1.0, 0.5])), [-0.5, 1.0, np.hypot(2.0, 3.5)],
                               atol=1e-6)
    turned = box(jnp.array([[0.0, 0.5], [0.5, 0.0]]), jnp.zeros(2), jnp.array([1.0, 0.1]), angle=jnp.pi / 2)
    np.testing.assert_allclose(turned, [-0.1, 0.4], atol=1e-6)  # the long side now points up
    rod = capsule(points, jnp.zeros(2), jnp.array([2.0, 0.0]), 0.5)
    np.testing.assert_allclose(rod, [-0.5, -0.5, np.hypot(1.0, 4.0) - 0.5], atol=1e-6)


@pytest.mark.parametrize("theta, up_colour, down_colour", [(0.0, DETAIL, FLOOR), (np.pi, FLOOR, DETAIL)])
def test_pendulum_bob_is_drawn_at_its_tip(theta, up_colour, down_colour):
    env, render = plain("pendulum_swingup")
    frame = render([theta, 0.0])
    np.testing.assert_allclose(pixel_at(frame, env, [0.0, 1.0]), up_colour, atol=2)
    np.testing.assert_allclose(pixel_at(frame, env, [0.0, -1.0]), down_colour, atol=2)
    np.testing.assert_allclose(pixel_at(frame, env, [0.0, 0.5 if theta == 0 else -0.5]), BODY, atol=ROD)


def test_pendulum_leans_the_way_the_angle_turns():
    env, render = plain("pendulum_swingup")
    frame = render([np.pi / 2, 0.0])  # counter-clockwise from up: pointing left
    np.testing.assert_allclose(pixel_at(frame, env, [-1.0, 0.0]), DETAIL, atol=2)
    np.testing.assert_allclose(pixel_at(frame, env, [1.0, 0.0]), FLOOR, atol=2)


def test_cart_and_pole_are_drawn_where_the_state_says():
    env, render = plain("cartpole_balance")
    frame = render([0.8, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(pixel_at(frame, env, [0.8, 0.0]), BODY, atol=ROD)  # the pole's foot on the cart
    np.testing.assert_allclose(pixel_at(frame, env, [1.05, 0.0]), DETAIL, atol=2)  # the cart
    np.testing.assert_allclose(pixel_at(frame, env, [0.8, 0.9]), BODY, atol=ROD)  # upright pole
    np.testing.assert_allclose(pixel_at(frame, env, [-0.8, 0.9]), FLOOR, atol=2)


def test_point_mass_and_target_are_drawn_where_the_state_says():
    env, render = plain("point_mass_reach")
    frame = render([0.5, -0.5, 0.0, 0.0, -0.6, 0.4])
    np.testing.assert_allclose(pixel_at(frame, env, [0.5, -0.5]), BODY, atol=2)
    np.testing.assert_allclose(pixel_at(frame, env, [-0.6, 0.4]), TARGET, atol=2)
    np.testing.assert_allclose(pixel_at(frame, env, [0.0, 0.0]), FLOOR, atol=2)


def test_reacher_fingertip_and_target_are_drawn_where_the_state_says():
    env, render = plain("reacher2")
    state = jnp.array([np.pi / 2, -np.pi / 2, 0.0, 0.0, -0.7, -0.3])  # up, then right
    frame = render(state)
    fingertip = env.task.elbow_and_fingertip(state)[1]
    np.testing.assert_allclose(fingertip, [0.45, 0.55], atol=1e-6)
    np.testing.assert_allclose(pixel_at(frame, env, fingertip), DETAIL, atol=2)
    np.testing.assert_allclose(pixel_at(frame, env, [0.0, 0.3]), BODY, atol=ROD)  # the upper arm
    np.testing.assert_allclose(pixel_at(frame, env, [-0.7, -0.3]), TARGET, atol=2)


def test_shapes_are_drawn_at_the_centres_info_reports():
    shapes = Shapes(num_shapes=2)
    state = ShapesState(centres=jnp.array([[-0.5, 0.5], [0.5, -0.5]]), velocities=jnp.zeros((2, 2)),
                        sizes=jnp.array([0.2, 0.2]), squares=jnp.array([False, True]),
                        colours=jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    frame = np.asarray(shapes.background(state, pixel_grid(SIZE), DEFAULT_COLOURS, None))
    np.testing.assert_array_equal(np.asarray(shapes.info(state)).reshape(2, 2), state.centres)
    np.testing.assert_allclose(frame[view_to_pixel((-0.5, 0.5), SIZE)], [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(frame[view_to_pixel((0.5, -0.5), SIZE)], [0.0, 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(frame[view_to_pixel((0.68, -0.32), SIZE)], [0.0, 0.0, 1.0], atol=1e-6)  # a corner
    np.testing.assert_allclose(frame[view_to_pixel((0.0, 0.0), SIZE)], DEFAULT_COLOURS.floor, atol=1e-6)


@pytest.mark.parametrize("distractor", ["shapes", "video", "color"])
def test_palettes_a_and_b_draw_from_disjoint_colour_sets(distractor):
    keys = jax.random.split(jax.random.key(0), 64)
    for palette in ("A", "B"):
        env = envs.make(f"pixels:pendulum_swingup?distractor={distractor}&palette={palette}")
        states = jax.jit(jax.vmap(env.background.initial_state, in_axes=(0, None)), static_argnums=1)(
            keys, palette)
        colours = (np.concatenate([states.body, states.floor]) if distractor == "color"
                   else np.asarray(states.colours).reshape(-1, 3))
        assert {palette_of(colour) for colour in colours} == {palette}
        assert len(np.unique(colours.round(3), axis=0)) > len(colours) // 2  # drawn, not a handful of fixed ones


def test_undistracted_colours_belong_to_neither_palette():
    for colour in (DEFAULT_COLOURS.body, DEFAULT_COLOURS.floor, DEFAULT_COLOURS.target):
        assert palette_of(colour) is None


@functools.partial(jax.jit, static_argnums=0)
def random_rewards(task, keys):
    """Rewards of initial states with their odd entries (speeds, mostly) stretched, under random actions."""
    states = jax.vmap(task.initial_state)(keys) * jnp.where(jnp.arange(len(task.state_names)) % 2, 5.0, 1.0)
    actions = jax.random.uniform(keys[0], (len(keys), task.action_dim), minval=-1.5, maxval=1.5)
    return jax.vmap(task.reward)(states, actions)


GOALS = {  # (task state at the goal, one away from it)
    "pendulum_swingup": ([0.0, 0.0], [np.pi, 0.0]),
    "cartpole_balance": ([0.0, 0.0, 0.0, 0.0], [0.0, 0.0, np.pi, 0.0]),
    "cartpole_swingup": ([0.0, 0.0, 0.0, 0.0], [1.2, 0.0, np.pi, 3.0]),
    "point_mass_reach": ([0.3, 0.3, 0.0, 0.0, 0.3, 0.3], [-0.9, -0.9, 0.0, 0.0, 0.8, 0.8]),
    "reacher2": ([0.0, 0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0, -0.5, 0.0]),
}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_rewards_are_one_at_the_goal_small_away_and_in_the_unit_interval(task):
    env = envs.make(f"pixels:{task}")
    goal, away = (jnp.asarray(s, jnp.float32) for s in GOALS[task])
    still = jnp.zeros(env.task.action_dim)
    assert float(env.task.reward(goal, still)) == pytest.approx(1.0)
    assert float(env.task.reward(away, still)) < 0.1
    keys = jax.random.split(jax.random.key(1), 256)
    rewards = np.asarray(random_rewards(env.task, keys))
    assert np.all((rewards >= 0.0) & (rewards <= 1.0)) and rewards.std() > 0.0
