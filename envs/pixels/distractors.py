"""Backgrounds that carry no information about the task: what a good representation learns to ignore.

    none    the floor colour, constant
    noise   the floor plus i.i.d. Gaussian noise per pixel and channel (sigma 0.2), drawn afresh every frame
    shapes  `num_shapes` discs and squares bouncing around the frame in straight lines, colours from the palette
    video   a scrolling texture: a sum of random plane waves moving at one random velocity, coloured by a
            three-colour gradient from the palette (a stand-in for the natural videos of Stone et al. 2021)
    color   the body and floor recoloured per episode from the palette (after DMC-GB's color_hard, Hansen and
            Wang 2021); the plain floor behind

Shapes, waves, velocities and colours are drawn per episode; `shapes` and `video` move one step per physics
step, independently of the task and the action. A distractor is a frozen dataclass with

    initial_state(key, palette) -> state       step(state) -> state
    background(state, points [H, W, 2], colours, key) -> [H, W, 3]      (points in view coordinates)
    colours(state) -> SceneColours             info(state) -> [D]  (the probe targets; D may be 0)
    features(state) -> [F]  the same targets in a form a linear probe can read: `info` itself, except for
                            `shapes` (a density map of the centres; `Shapes.features` says why)
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import struct

from envs.pixels.palettes import colours_from_uniform
from envs.pixels.render import coverage, paint
from envs.pixels.scene import DEFAULT_COLOURS, SceneColours

# Brightness ranges of palette colours: distractor shapes and waves are mid to bright; a recoloured body is
# bright on a dark recoloured floor, so the task stays visible.
SHAPE_VALUE = (0.5, 1.0)
BODY_VALUE = (0.65, 1.0)
FLOOR_VALUE = (0.1, 0.4)
DENSITY_GRID = 4  # the shapes' probe target: a 4 x 4 map of their centres (Shapes.features)


def uniform_rows(key: jax.Array, rows: int, cols: int) -> jax.Array:
    """`[rows, cols]` uniform in [0, 1): everything an episode's distractor needs, from one draw. Drawn flat and
    reshaped, because a flat draw compiles several times faster on the CPU than a 2-D one."""
    return jax.random.uniform(key, (rows * cols,)).reshape(rows, cols)


def between(u: jax.Array, low: float, high: float) -> jax.Array:
    """`u` uniform in [0, 1) stretched to [low, high)."""
    return low + (high - low) * u


def floor_image(points: jax.Array, colours: SceneColours) -> jax.Array:
    return jnp.broadcast_to(colours.floor, (*points.shape[:-1], 3))


@dataclass(frozen=True)
class NoDistractor:
    def initial_state(self, key: jax.Array, palette: str):
        return jnp.zeros(())

    def step(self, state):
        return state

    def background(self, state, points: jax.Array, colours: SceneColours, key: jax.Array) -> jax.Array:
        return floor_image(points, colours)

    def colours(self, state) -> SceneColours:
        return DEFAULT_COLOURS

    def info(self, state) -> jax.Array:
        return jnp.zeros((0,))

    def features(self, state) -> jax.Array:
        return self.info(state)


@dataclass(frozen=True)
class Noise(NoDistractor):
    sigma: float = 0.2

    def background(self, state, points: jax.Array, colours: SceneColours, key: jax.Array) -> jax.Array:
        floor = floor_image(points, colours)
        return floor + self.sigma * jax.random.normal(key, floor.shape)


@struct.dataclass
class ShapesState:
    centres: jax.Array  # [N, 2] view coordinates
    velocities: jax.Array  # [N, 2] view units per physics step
    sizes: jax.Array  # [N] radius of a disc, half side of a square
    squares: jax.Array  # [N] bool
    colours: jax.Array  # [N, 3]


@dataclass(frozen=True)
class Shapes(NoDistractor):
    num_shapes: int = 6
    speed: tuple[float, float] = (0.01, 0.04)
    size: tuple[float, float] = (0.1, 0.25)

    def initial_state(self, key: jax.Array, palette: str) -> ShapesState:
        u = uniform_rows(key, self.num_shapes, 10)
        direction = between(u[:, 2], -jnp.pi, jnp.pi)
        speed = between(u[:, 3], *self.speed)
        return ShapesState(
            centres=between(u[:, 0:2], -1.0, 1.0),
            velocities=speed[:, None] * jnp.stack([jnp.cos(direction), jnp.sin(direction)], axis=-1),
            sizes=between(u[:, 4], *self.size),
            squares=u[:, 5] < 0.5,
            colours=colours_from_uniform(u[:, 6:10], palette, SHAPE_VALUE),
        )

    def step(self, state: ShapesState) -> ShapesState:
        # Centres bounce off the frame's edges: a centre that would leave [-1, 1] is reflected back in.
        moved = state.centres + state.velocities
        over, under = moved > 1.0, moved < -1.0
        centres = jnp.where(over, 2.0 - moved, jnp.where(under, -2.0 - moved, moved))
        velocities = jnp.where(over | under, -state.velocities, state.velocities)
        return state.replace(centres=centres, velocities=velocities)

    def background(self, state: ShapesState, points: jax.Array, colours: SceneColours, key: jax.Array) -> jax.Array:
        # All shapes' distances at once, [N, H, W]. A square's is the max-norm distance to its centre, exact
        # inside and on its sides (what anti-aliasing needs) and cheaper than the Euclidean box distance.
        offsets = points[None] - state.centres[:, None, None, :]
        distance = jnp.where(state.squares[:, None, None], jnp.max(jnp.abs(offsets), axis=-1),
                             jnp.linalg.norm(offsets, axis=-1)) - state.sizes[:, None, None]
        alphas = coverage(distance, 2.0 / points.shape[0])

        def paint_one(image, shape):
            alpha, colour = shape
            return paint(image, alpha, colour), None

        return jax.lax.scan(paint_one, floor_image(points, colours), (alphas, state.colours))[0]

    def info(self, state: ShapesState) -> jax.Array:
        return state.centres.reshape(-1)

    def features(self, state: ShapesState) -> jax.Array:
        """The centres as a density on a `DENSITY_GRID` x `DENSITY_GRID` grid over the frame: at each grid point,
        the sum over shapes of a Gaussian of the distance to its centre (sigma half a cell). Shapes are drawn
        afresh per episode, so "the centre of shape k" is not a linear function of any fixed image feature (a
        linear probe from the pixels themselves reads R^2 0.01 of it); the density is the same set of centres,
        without their order, and pixels read about 0.6 of it linearly."""
        cells = (jnp.arange(DENSITY_GRID) + 0.5) * (2.0 / DENSITY_GRID) - 1.0
        grid = jnp.stack(jnp.meshgrid(cells, cells), axis=-1).reshape(-1, 2)  # [G^2, 2]
        squared = jnp.sum((state.centres[:, None, :] - grid[None]) ** 2, axis=-1)  # [N, G^2]
        sigma = 1.0 / DENSITY_GRID
        return jnp.sum(jnp.exp(-squared / (2.0 * sigma**2)), axis=0)


@struct.dataclass
class VideoState:
    offset: jax.Array  # [2] how far the texture has scrolled, view units
    velocity: jax.Array  # [2] per physics step
    directions: jax.Array  # [K, 2] unit wave directions
    frequencies: jax.Array  # [K] radians per view unit
    phases: jax.Array  # [K]
    amplitudes: jax.Array  # [K]
    colours: jax.Array  # [3, 3] the gradient's colours


@dataclass(frozen=True)
class Video(NoDistractor):
    num_waves: int = 6
    speed: tuple[float, float] = (0.01, 0.03)
    frequency: tuple[float, float] = (1.5, 8.0)

    def initial_state(self, key: jax.Array, palette: str) -> VideoState:
        k = self.num_waves
        rows = uniform_rows(key, k + 4, 4)  # a row per wave, a row per colour, a row for the motion
        u, motion = rows[:k], rows[k + 3]
        angles = between(u[:, 0], -jnp.pi, jnp.pi)
        heading, speed = between(motion[0], -jnp.pi, jnp.pi), between(motion[1], *self.speed)
        return VideoState(
            offset=jnp.zeros(2),
            velocity=speed * jnp.stack([jnp.cos(heading), jnp.sin(heading)]),
            directions=jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=-1),
            frequencies=between(u[:, 1], *self.frequency),
            phases=between(u[:, 2], 0.0, 2 * jnp.pi),
            amplitudes=between(u[:, 3], 0.5, 1.0),
            colours=colours_from_uniform(rows[k:k + 3], palette, SHAPE_VALUE),
        )

    def step(self, state: VideoState) -> VideoState:
        return state.replace(offset=state.offset + state.velocity)

    def background(self, state: VideoState, points: jax.Array, colours: SceneColours, key: jax.Array) -> jax.Array:
        along = jnp.einsum("hwc,kc->hwk", points - state.offset, state.directions)
        waves = state.amplitudes * jnp.sin(state.frequencies * along + state.phases)
        level = 0.5 + 0.5 * jnp.sum(waves, axis=-1) / jnp.sum(state.amplitudes)  # [H, W] in [0, 1]
        low, mid, high = state.colours
        lower = low + (mid - low) * jnp.clip(2.0 * level, 0.0, 1.0)[..., None]
        return lower + (high - mid) * jnp.clip(2.0 * level - 1.0, 0.0, 1.0)[..., None]

    def info(self, state: VideoState) -> jax.Array:
        return state.offset


@struct.dataclass
class ColorState:
    body: jax.Array  # [3]
    floor: jax.Array  # [3]


@dataclass(frozen=True)
class Color(NoDistractor):
    def initial_state(self, key: jax.Array, palette: str) -> ColorState:
        u = uniform_rows(key, 2, 4)
        return ColorState(colours_from_uniform(u[0], palette, BODY_VALUE),
                          colours_from_uniform(u[1], palette, FLOOR_VALUE))

    def colours(self, state: ColorState) -> SceneColours:
        return SceneColours(floor=state.floor, body=state.body, target=DEFAULT_COLOURS.target)

    def info(self, state: ColorState) -> jax.Array:
        return jnp.concatenate([state.body, state.floor])


DISTRACTORS = ("none", "noise", "shapes", "video", "color")
