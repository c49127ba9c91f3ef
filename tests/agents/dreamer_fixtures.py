"""A tiny JAX image env for the Dreamer tests: Pendulum-v1 drawn as a bright dot at the pole's tip on a dark
S x S uint8 canvas (`testpix:pendulum?size=16&max_episode_steps=50`), as the `testpix` env family while the
`testpix_family` fixture (or `testpix_registered()`) holds it, so that the suite's family list is not changed."""

from __future__ import annotations

import contextlib

import jax.numpy as jnp
import numpy as np
import pytest

from envs import registry
from envs.classic import Pendulum
from envs.spaces import Box
from envs.wrapper import Wrapper


class TipImage(Wrapper):
    """Pendulum's `[cos, sin, theta_dot]` -> a uint8 `[S, S, 3]` image: a Gaussian dot at the tip (red), the
    angular speed as the blue level of the whole frame."""

    def __init__(self, env: Pendulum, size: int):
        super().__init__(env)
        self.size = size

    @property
    def observation_space(self) -> Box:
        shape = (self.size, self.size, 3)
        return Box(np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8), shape, np.dtype(np.uint8))

    @property
    def name(self) -> str:
        return f"testpix-pendulum-{self.size}"

    def observation(self, obs, episode):
        centre, radius = (self.size - 1) / 2, 0.4 * self.size
        x, y = centre + radius * obs[1], centre - radius * obs[0]
        rows, cols = jnp.meshgrid(jnp.arange(self.size), jnp.arange(self.size), indexing="ij")
        dot = jnp.exp(-((rows - y) ** 2 + (cols - x) ** 2) / 2.0)
        speed = jnp.full_like(dot, (obs[2] + 8.0) / 16.0)
        image = jnp.stack([dot, 0.2 * dot, 0.5 * speed], axis=-1)
        return jnp.round(255 * jnp.clip(image, 0, 1)).astype(jnp.uint8)


def _testpix(env_id: str, kwargs: dict) -> TipImage:
    size = kwargs.pop("size", 16)
    return TipImage(Pendulum(**kwargs), size)


@contextlib.contextmanager
def testpix_registered():
    registry.register_family("testpix")(_testpix)
    try:
        yield
    finally:
        registry._FAMILIES.pop("testpix", None)


@pytest.fixture(autouse=True, scope="module")
def testpix_family():
    with testpix_registered():
        yield
