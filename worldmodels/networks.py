"""The networks of the world models: a CNN encoder and a transposed-CNN decoder for square RGB images, and the
LayerNorm + SiLU blocks every MLP is made of (DreamerV3, Hafner et al. 2023).

Images enter as uint8 `[..., H, W, 3]` and are scaled to [-0.5, 0.5] by `scale_images`; the decoder predicts in
that range. The encoder halves the resolution with 4x4 stride-2 convolutions (doubling the channels) until it is
4x4, so an image side must be 4 times a power of two (32, 64, ...).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp


def scale_images(images: jax.Array) -> jax.Array:
    """uint8 pixels -> float32 in [-0.5, 0.5]; float images are taken as already scaled."""
    if images.dtype != jnp.uint8:
        return images.astype(jnp.float32)
    return images.astype(jnp.float32) / 255.0 - 0.5


def conv_stages(size: int) -> int:
    """Stride-2 stages from `size` pixels down to 4."""
    stages = math.log2(size / 4)
    if size < 8 or stages != int(stages):
        raise ValueError(f"image side {size} must be 4 times a power of two (8, 16, 32, 64, ...)")
    return int(stages)


class DenseNorm(nn.Module):
    """Dense -> LayerNorm -> SiLU; no bias, since the LayerNorm has one."""

    width: int

    @nn.compact
    def __call__(self, x):
        return nn.silu(nn.LayerNorm(epsilon=1e-3)(nn.Dense(self.width, use_bias=False)(x)))


class Head(nn.Module):
    """`layers` DenseNorm blocks and a linear output; `zero_output` starts the prediction at zero (DreamerV3
    initialises the reward head this way, so early rewards are not wildly mispredicted)."""

    units: int
    layers: int
    out: int
    zero_output: bool = False

    @nn.compact
    def __call__(self, x):
        for _ in range(self.layers):
            x = DenseNorm(self.units)(x)
        init = nn.initializers.zeros if self.zero_output else nn.initializers.lecun_normal()
        return nn.Dense(self.out, kernel_init=init)(x)


class Encoder(nn.Module):
    """`[N, H, W, 3]` scaled images -> `[N, 16 * depth * 2^(stages-1)]`."""

    depth: int

    @nn.compact
    def __call__(self, images):
        x = images
        for stage in range(conv_stages(images.shape[-2])):
            x = nn.Conv(self.depth * 2**stage, (4, 4), strides=(2, 2), padding="SAME", use_bias=False)(x)
            x = nn.silu(nn.LayerNorm(epsilon=1e-3)(x))
        return x.reshape((x.shape[0], -1))


class Decoder(nn.Module):
    """`[N, F]` features -> `[N, size, size, 3]` images in the scaled range (the mean of a unit Gaussian)."""

    depth: int
    size: int

    @nn.compact
    def __call__(self, features):
        stages = conv_stages(self.size)
        width = self.depth * 2 ** (stages - 1)
        x = nn.Dense(4 * 4 * width)(features).reshape((-1, 4, 4, width))
        for stage in reversed(range(stages - 1)):
            x = nn.ConvTranspose(self.depth * 2**stage, (4, 4), strides=(2, 2), padding="SAME", use_bias=False)(x)
            x = nn.silu(nn.LayerNorm(epsilon=1e-3)(x))
        return nn.ConvTranspose(3, (4, 4), strides=(2, 2), padding="SAME")(x)
