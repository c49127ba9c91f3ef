"""Mapping between an agent's normalised actions and an env's action space."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from envs.spaces import Box, Space


def to_env_action(space: Space, action):
    """Continuous agents act in [-1, 1]^d; rescale to the env's box (clipped). Discrete actions pass through, and so
    do the entries of a dimension unbounded on both sides (no box to rescale to or clip at: envs/wrappers/
    raw_actions.py declares such a space for agents that act in an env's own units)."""
    if not isinstance(space, Box):
        return action
    low = np.where(np.isfinite(space.low), space.low, -1.0).astype(np.float32)
    high = np.where(np.isfinite(space.high), space.high, 1.0).astype(np.float32)
    unbounded = ~np.isfinite(space.low) & ~np.isfinite(space.high)
    scaled = low + 0.5 * (jnp.clip(action, -1.0, 1.0) + 1.0) * (high - low)
    return jnp.where(unbounded, action, scaled) if unbounded.any() else scaled


def from_env_action(space: Space, action):
    """The inverse of `to_env_action`, for datasets recorded in env units; exact (a no-op) on a [-1, 1] box, the
    bounds of most continuous-control envs, so their recorded actions load back unchanged."""
    if not isinstance(space, Box) or (np.all(space.low == -1.0) and np.all(space.high == 1.0)):
        return action
    low = np.where(np.isfinite(space.low), space.low, -1.0).astype(np.float32)
    high = np.where(np.isfinite(space.high), space.high, 1.0).astype(np.float32)
    return 2.0 * (action - low) / (high - low) - 1.0
