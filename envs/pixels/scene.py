"""What a task draws and in which colours: parts with a role, and the colours each role gets.

A task lists its parts back to front as `Part(distance, role)`, the signed distance of each pixel centre to the
part in world units. The role picks the colour: `body` (the thing the agent moves), `detail` (a darker shade of
the body: a bob, a cart, a fingertip), `target` (what to reach) and `fixture` (rails and pivots, never
recoloured). The `color` distractor redraws the body and floor colours per episode; every other scene uses
`DEFAULT_COLOURS`, whose colours lie in neither palette (envs/pixels/palettes.py).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from envs.pixels.render import coverage, paint

DETAIL_SHADE = 0.65
FIXTURE_COLOUR = (0.5, 0.5, 0.5)


class Part(NamedTuple):
    distance: jax.Array  # [H, W] signed distance in world units
    role: str  # body | detail | target | fixture


@struct.dataclass
class SceneColours:
    floor: jax.Array  # [3] RGB in [0, 1]
    body: jax.Array  # [3]
    target: jax.Array  # [3]


DEFAULT_COLOURS = SceneColours(
    floor=jnp.array([0.16, 0.16, 0.18]),  # a dark grey, the background of undistracted frames
    body=jnp.array([0.85, 0.7, 0.5]),  # a pale orange, saturation 0.41
    target=jnp.array([0.95, 0.95, 0.95]),  # near white
)


def role_colour(colours: SceneColours, role: str) -> jax.Array:
    if role == "body":
        return colours.body
    if role == "detail":
        return DETAIL_SHADE * colours.body
    if role == "target":
        return colours.target
    if role == "fixture":
        return jnp.asarray(FIXTURE_COLOUR)
    raise ValueError(f"unknown part role {role!r}")


def draw_parts(image: jax.Array, parts: list[Part], colours: SceneColours, pixel: float) -> jax.Array:
    """`image [H, W, 3]` with the parts painted over it in order; `pixel` is a pixel's width in world units."""
    for part in parts:
        image = paint(image, coverage(part.distance, pixel), role_colour(colours, part.role))
    return image
