"""Spatio-temporal cube masks for HRSSM's online branch (Sun et al. 2024).

The image is cut into a G x G grid of square patches and floor(ratio * G^2) of them are hidden. The T frames of a
clip are cut into blocks of `block` consecutive frames; each block draws its own random set of hidden patches and
all its frames share it, so a hidden patch is a cube in (time, y, x). Hiding whole cubes rather than scattered
pixels means a masked region cannot be filled in by copying a neighbouring frame, which pushes the model towards
dynamics that predict what is hidden.

`per_sequence=True` draws the masks of each sequence of the batch independently; `False` shares one mask
across the batch (the authors' code does that).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def masked_patches(ratio: float, grid: int) -> int:
    return int(ratio * grid * grid)


def cube_mask(key: jax.Array, length: int, batch: int, size: int, patch: int, ratio: float, block: int,
              per_sequence: bool = True) -> jax.Array:
    """A float mask `[T, B, size, size]`, 1 where a pixel is hidden.

    `size` must be divisible by `patch` (uneven patches would hide more of some areas than others) and `length`
    by `block`.
    """
    if size % patch:
        raise ValueError(f"patch size {patch} does not divide the image side {size}")
    if length % block:
        raise ValueError(f"block of {block} frames does not divide the sequence length {length}")
    grid = size // patch
    draws = batch if per_sequence else 1
    # A random ranking of the patches per (block, sequence); the lowest-ranked floor(ratio G^2) are hidden, so
    # every draw hides exactly that many.
    scores = jax.random.uniform(key, (length // block, draws, grid * grid))
    ranks = jnp.argsort(jnp.argsort(scores, axis=-1), axis=-1)
    hidden = (ranks < masked_patches(ratio, grid)).astype(jnp.float32).reshape((-1, draws, grid, grid))
    frames = jnp.repeat(hidden, block, axis=0)  # [T, draws, G, G]
    pixels = jnp.repeat(jnp.repeat(frames, patch, axis=2), patch, axis=3)
    return jnp.broadcast_to(pixels, (length, batch, size, size))
