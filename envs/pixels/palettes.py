"""Two disjoint colour sets, A for training and B for testing generalisation to unseen colours.

Colours are drawn in HSV. The hue circle is cut into six 60-degree sectors; palette A draws hues within 20
degrees of red, green and blue (0, 120, 240 degrees), palette B within 20 degrees of yellow, cyan and magenta
(60, 180, 300), so any two colours of different palettes are at least 20 degrees of hue apart. Saturation is at
least `MIN_SATURATION`; the fixed colours of the undistracted scenes (envs/pixels/scene.py) are less saturated
than that, so they belong to neither palette.
"""

from __future__ import annotations

import colorsys

import jax
import jax.numpy as jnp
import numpy as np

PALETTES = ("A", "B")
HUE_CENTRES = {"A": (0.0, 1 / 3, 2 / 3), "B": (1 / 6, 1 / 2, 5 / 6)}
HUE_SPREAD = 1 / 18  # +-20 degrees around a centre
MIN_SATURATION = 0.55


def hsv_to_rgb(hsv: jax.Array) -> jax.Array:
    """`[..., 3]` hue in [0, 1), saturation, value -> `[..., 3]` RGB in [0, 1]."""
    h, s, v = hsv[..., 0:1], hsv[..., 1:2], hsv[..., 2:3]
    k = (jnp.array([5.0, 3.0, 1.0]) + 6.0 * h) % 6.0
    return v - v * s * jnp.clip(jnp.minimum(k, 4.0 - k), 0.0, 1.0)


def draw_colours(key: jax.Array, palette: str, count: int, value: tuple[float, float]) -> jax.Array:
    """`[count, 3]` RGB colours from `palette`, with HSV value (brightness) uniform in `value`."""
    return colours_from_uniform(jax.random.uniform(key, (count * 4,)).reshape(count, 4), palette, value)


def colours_from_uniform(u: jax.Array, palette: str, value: tuple[float, float]) -> jax.Array:
    """`[..., 3]` RGB colours from `palette`, made from `u [..., 4]` uniform in [0, 1): a hue sector, the hue
    within it, the saturation and the value. (One uniform draw per episode compiles much faster than several.)"""
    centres = jnp.asarray(HUE_CENTRES[palette])
    sector = jnp.minimum(jnp.floor(u[..., 0] * len(centres)).astype(jnp.int32), len(centres) - 1)
    hue = centres[sector] + HUE_SPREAD * (2.0 * u[..., 1] - 1.0)
    saturation = MIN_SATURATION + (1.0 - MIN_SATURATION) * u[..., 2]
    brightness = value[0] + (value[1] - value[0]) * u[..., 3]
    return hsv_to_rgb(jnp.stack([hue % 1.0, saturation, brightness], axis=-1))


def palette_of(rgb) -> str | None:
    """Which palette could have drawn the RGB colour `rgb` (host side, for tests and checks); None for neither."""
    hue, saturation, _ = colorsys.rgb_to_hsv(*(float(c) for c in np.asarray(rgb)))
    if saturation < MIN_SATURATION - 1e-4:
        return None
    for name, centres in HUE_CENTRES.items():
        for centre in centres:
            gap = abs((hue - centre + 0.5) % 1.0 - 0.5)
            if gap <= HUE_SPREAD + 1e-4:
                return name
    return None
