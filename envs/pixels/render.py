"""Drawing with signed distances on a pixel grid: the primitives every `pixels:` frame is made of.

A frame is a float RGB image in [0, 1] of shape [H, W, 3], built back to front: a background, then shapes
painted over it. A shape is its signed distance field (negative inside, in the same units as the points it was
evaluated at), turned into per-pixel coverage by a smoothstep one pixel wide, so edges are anti-aliased and the
picture moves smoothly with sub-pixel motion. Everything is elementwise jnp, so a frame jits and vmaps.

Coordinates: the *view* is the square [-1, 1]^2, x to the right, y up; pixel (row, col) has its centre at
x = (col + 0.5) * 2 / W - 1, y = 1 - (row + 0.5) * 2 / H. A task maps its world into the view with a `View`.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp


@dataclass(frozen=True)
class View:
    """The world square `centre +- half_extent` shown in the frame."""

    centre: tuple[float, float]
    half_extent: float

    def to_world(self, view_points: jax.Array) -> jax.Array:
        return jnp.asarray(self.centre) + self.half_extent * view_points

    def to_view(self, world_points: jax.Array) -> jax.Array:
        return (world_points - jnp.asarray(self.centre)) / self.half_extent


def pixel_grid(size: int) -> jax.Array:
    """`[size, size, 2]` view coordinates (x, y) of the pixel centres."""
    centres = (jnp.arange(size, dtype=jnp.float32) + 0.5) * 2.0 / size - 1.0
    x, y = jnp.meshgrid(centres, -centres, indexing="xy")
    return jnp.stack([x, y], axis=-1)


def view_to_pixel(point, size: int) -> tuple[int, int]:
    """The (row, col) of the pixel whose centre is nearest the view point (x, y); for tests and probes."""
    x, y = float(point[0]), float(point[1])
    col = int(round((x + 1.0) * size / 2.0 - 0.5))
    row = int(round((1.0 - y) * size / 2.0 - 0.5))
    return min(max(row, 0), size - 1), min(max(col, 0), size - 1)


# --- signed distances ([..., 2] points -> [...]) --------------------------------------------------------------

def disc(points: jax.Array, centre: jax.Array, radius) -> jax.Array:
    return jnp.linalg.norm(points - centre, axis=-1) - radius


def box(points: jax.Array, centre: jax.Array, half_size: jax.Array, angle=0.0) -> jax.Array:
    """A rectangle with half side lengths `half_size` (x, y), turned by `angle` radians (counter-clockwise)."""
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    d = points - centre
    local = jnp.stack([cos * d[..., 0] + sin * d[..., 1], -sin * d[..., 0] + cos * d[..., 1]], axis=-1)
    q = jnp.abs(local) - half_size
    outside = jnp.linalg.norm(jnp.maximum(q, 0.0), axis=-1)
    inside = jnp.minimum(jnp.max(q, axis=-1), 0.0)
    return outside + inside


def capsule(points: jax.Array, start: jax.Array, end: jax.Array, radius) -> jax.Array:
    """A segment from `start` to `end` with round ends, `radius` thick on each side (a rod, a link)."""
    along = end - start
    t = jnp.clip(jnp.sum((points - start) * along, axis=-1) / jnp.maximum(jnp.sum(along * along), 1e-12), 0.0, 1.0)
    nearest = start + t[..., None] * along
    return jnp.linalg.norm(points - nearest, axis=-1) - radius


# --- painting -------------------------------------------------------------------------------------------------

def coverage(distance: jax.Array, pixel: float) -> jax.Array:
    """How much of a pixel `pixel` wide a shape covers, from its signed distance at the pixel centre: 1 well
    inside, 0 well outside, a smoothstep over one pixel across the edge."""
    t = jnp.clip(0.5 - distance / pixel, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def paint(image: jax.Array, alpha: jax.Array, colour: jax.Array) -> jax.Array:
    """`image [H, W, 3]` with `colour [3]` laid over it where `alpha [H, W]` says."""
    alpha = alpha[..., None]
    return image * (1.0 - alpha) + jnp.asarray(colour) * alpha


def to_uint8(image: jax.Array) -> jax.Array:
    return jnp.round(jnp.clip(image, 0.0, 1.0) * 255.0).astype(jnp.uint8)
