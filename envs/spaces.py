"""Observation and action spaces, as plain immutable descriptions that JAX code can close over."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True)
class Box:
    """A box of real (or integer) values with elementwise bounds; `low`/`high` are numpy arrays of `shape`."""

    low: np.ndarray
    high: np.ndarray
    shape: tuple[int, ...]
    dtype: np.dtype = np.dtype(np.float32)

    @staticmethod
    def uniform(low: float, high: float, shape: tuple[int, ...], dtype=np.float32) -> Box:
        return Box(np.full(shape, low, dtype), np.full(shape, high, dtype), tuple(shape), np.dtype(dtype))

    def sample(self, key: jax.Array) -> jax.Array:
        # Bounded dimensions are uniform; a dimension with an infinite bound has no uniform distribution, so
        # (like gymnasium) it gets a standard normal, clipped to whichever bound is finite.
        bounded = np.isfinite(self.low) & np.isfinite(self.high)
        uniform_key, normal_key = jax.random.split(key)
        low = jnp.asarray(np.where(bounded, self.low, 0.0), jnp.float32)
        high = jnp.asarray(np.where(bounded, self.high, 1.0), jnp.float32)
        uniform = jax.random.uniform(uniform_key, self.shape, minval=low, maxval=high)
        normal = jnp.clip(jax.random.normal(normal_key, self.shape), self.low, self.high)
        return jnp.where(bounded, uniform, normal).astype(self.dtype)

    def contains(self, x) -> bool:
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all(x >= self.low) and np.all(x <= self.high))

    def __eq__(self, other) -> bool:
        return (isinstance(other, Box) and self.shape == other.shape and self.dtype == other.dtype
                and np.array_equal(self.low, other.low) and np.array_equal(self.high, other.high))

    def __hash__(self) -> int:
        return hash((self.shape, str(self.dtype), self.low.tobytes(), self.high.tobytes()))


@dataclass(frozen=True)
class Discrete:
    """Integers in [0, n)."""

    n: int
    shape: tuple[int, ...] = ()
    dtype: np.dtype = np.dtype(np.int32)

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.randint(key, (), 0, self.n, dtype=jnp.int32)

    def contains(self, x) -> bool:
        x = np.asarray(x)
        return x.shape == () and 0 <= int(x) < self.n


@dataclass(frozen=True)
class MultiDiscrete:
    """A vector of integers, entry i in [0, nvec[i]) (gymnasium's MultiDiscrete with start 0).

    Used where the original env has several discrete observations at once (POPGym's CountRecall, Concentration);
    agents one-hot each entry.
    """

    nvec: tuple[int, ...]
    dtype: np.dtype = np.dtype(np.int32)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.nvec),)

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.randint(key, self.shape, 0, jnp.asarray(self.nvec), dtype=jnp.int32)

    def contains(self, x) -> bool:
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all(x >= 0) and np.all(x < np.asarray(self.nvec)))


Space = Box | Discrete | MultiDiscrete


def is_image(space: Space) -> bool:
    """A rank-3 Box, read as height x width x channels (pixels; uint8 ones are 0-255)."""
    return isinstance(space, Box) and len(space.shape) == 3


def observation_size(space: Space) -> int:
    """Length of `one_hot_observation`'s output for `space`."""
    if isinstance(space, Discrete):
        return space.n
    if isinstance(space, MultiDiscrete):
        return int(sum(space.nvec))
    return int(np.prod(space.shape))


def one_hot_observation(space: Space, obs: jax.Array) -> jax.Array:
    """`[..., size]` float32: one-hot for Discrete, concatenated one-hots for MultiDiscrete, flattened Box."""
    if isinstance(space, Discrete):
        return jax.nn.one_hot(obs, space.n, dtype=jnp.float32)
    if isinstance(space, MultiDiscrete):
        parts = [jax.nn.one_hot(obs[..., i], n, dtype=jnp.float32) for i, n in enumerate(space.nvec)]
        return jnp.concatenate(parts, axis=-1)
    batch = obs.shape[:obs.ndim - len(space.shape)]
    return jnp.reshape(obs, (*batch, -1)).astype(jnp.float32)


def from_gymnasium(space) -> Space:
    """Convert a gymnasium Box or Discrete space; anything else is a clear error."""
    import gymnasium

    if isinstance(space, gymnasium.spaces.Discrete):
        if int(space.start) != 0:
            raise ValueError(f"Discrete spaces must start at 0, got start={space.start}")
        return Discrete(int(space.n))
    if isinstance(space, gymnasium.spaces.MultiDiscrete) and space.nvec.ndim == 1 and not np.any(space.start):
        return MultiDiscrete(tuple(int(n) for n in space.nvec))
    if isinstance(space, gymnasium.spaces.Box):
        return Box(np.asarray(space.low), np.asarray(space.high), tuple(space.shape), np.dtype(space.dtype))
    raise ValueError(f"unsupported gymnasium space {type(space).__name__}; "
                     "only Box, Discrete and 1-D MultiDiscrete are supported")


def to_gymnasium(space: Space):
    import gymnasium

    if isinstance(space, Discrete):
        return gymnasium.spaces.Discrete(space.n)
    if isinstance(space, MultiDiscrete):
        return gymnasium.spaces.MultiDiscrete(np.asarray(space.nvec, np.int64))
    return gymnasium.spaces.Box(space.low, space.high, space.shape, space.dtype)
