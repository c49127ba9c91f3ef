"""Network inputs chosen from the observation space alone: one-hot, flat, or a small CNN for images.

    Discrete, MultiDiscrete     one-hot (concatenated per entry), no parameters
    Box of rank 0-2             flattened to float32 (integers as they are), no parameters
    Box of rank 3 (H, W, C)     a CNN: 3x3 convolutions of stride 2 ("SAME" padding, ReLU), flattened;
                                uint8 pixels are scaled to [0, 1] first

Strided 3x3 convolutions work on any image size (a 10x10 test image as well as 84x84 Atari frames), so the
one option is the channels per layer. An agent asks `observation_input(space, channels)` and gets an object
that initialises the CNN's parameters (None for the parameter-free inputs) and maps observations
`[..., *space.shape]` to features `[..., dim]`, whatever the leading axes (steps, envs, time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from envs.spaces import Space, is_image, observation_size, one_hot_observation


class ImageEncoder(nn.Module):
    """`[N, H, W, C]` float images -> `[N, features]`: stride-2 3x3 convolutions with ReLU, then a flatten."""

    channels: Sequence[int]

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        x = images
        for width in self.channels:
            x = nn.relu(nn.Conv(width, (3, 3), strides=(2, 2), padding="SAME")(x))
        return x.reshape((x.shape[0], -1))


@dataclass(frozen=True, eq=False)
class ObservationInput:
    """How observations of `space` become flat float features of width `dim`."""

    space: Space
    dim: int
    cnn: ImageEncoder | None = None

    def init(self, key: jax.Array) -> dict | None:
        """The CNN's parameters; None for inputs without any."""
        if self.cnn is None:
            return None
        return self.cnn.init(key, jnp.zeros((1, *self.space.shape), jnp.float32))

    def __call__(self, params: dict | None, obs: jax.Array) -> jax.Array:
        if self.cnn is None:
            return one_hot_observation(self.space, obs)
        batch = obs.shape[:obs.ndim - 3]
        images = scale_pixels(self.space, obs).reshape((-1, *self.space.shape))
        return self.cnn.apply(params, images).reshape((*batch, self.dim))


def scale_pixels(space: Space, obs: jax.Array) -> jax.Array:
    """uint8 pixels to [0, 1]; other image dtypes are taken as already scaled."""
    if np.dtype(space.dtype) == np.uint8:
        return obs.astype(jnp.float32) / 255.0
    return obs.astype(jnp.float32)


def observation_input(space: Space, cnn_channels: Sequence[int]) -> ObservationInput:
    """The input for `space`: a CNN of `cnn_channels` for images, one-hot or flattening otherwise."""
    if not is_image(space):
        return ObservationInput(space, observation_size(space))
    cnn = ImageEncoder(tuple(cnn_channels))
    example = jax.ShapeDtypeStruct((1, *space.shape), jnp.float32)
    out = jax.eval_shape(lambda x: cnn.init_with_output(jax.random.key(0), x)[0], example)
    return ObservationInput(space, int(out.shape[-1]), cnn)
