"""PointPlane-v0: a point mass in the plane, the small testbed for unsupervised skill discovery (METRA).

Position `p` in R^2 starts uniform in [-0.1, 0.1]^2; an action `a` in [-1, 1]^2 moves it by `speed * a`
(0.5 by default), so 50 steps (the time limit) reach at most 25 along each axis. The observation is `p`, scaled
per axis by `x_scale` and `y_scale` (a stretched plane tests whether a method's metric is temporal or
Euclidean). There is no task: the reward is 0 and episodes never terminate.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from envs.protocol import JaxEnv
from envs.spaces import Box


@dataclass(frozen=True)
class PointPlane(JaxEnv):
    speed: float = 0.5
    start_noise: float = 0.1
    x_scale: float = 1.0
    y_scale: float = 1.0
    max_episode_steps: int = 50
    name: str = "PointPlane-v0"

    def __post_init__(self):
        for field in ("speed", "x_scale", "y_scale"):
            if not (np.isfinite(getattr(self, field)) and getattr(self, field) > 0):
                raise ValueError(f"PointPlane {field} must be a positive number, got {getattr(self, field)}")
        if not (np.isfinite(self.start_noise) and self.start_noise >= 0):
            raise ValueError(f"PointPlane start_noise must be >= 0, got {self.start_noise}")
        if not (isinstance(self.max_episode_steps, int) and self.max_episode_steps >= 1):
            raise ValueError(f"PointPlane max_episode_steps must be a positive integer, got {self.max_episode_steps}")

    @property
    def reach(self) -> float:
        """How far from the origin one coordinate can get within an episode (before scaling)."""
        return self.start_noise + self.speed * self.max_episode_steps

    @property
    def observation_space(self) -> Box:
        high = self.reach * np.array([self.x_scale, self.y_scale], np.float32)
        return Box(-high, high, (2,))

    @property
    def action_space(self) -> Box:
        return Box.uniform(-1.0, 1.0, (2,))

    def initial_state(self, key: jax.Array) -> jax.Array:
        return jax.random.uniform(key, (2,), minval=-self.start_noise, maxval=self.start_noise)

    def transition(self, state: jax.Array, action: jax.Array, key: jax.Array):
        del key  # deterministic dynamics
        step = jnp.clip(jnp.reshape(action, (2,)), -1.0, 1.0)
        return state + self.speed * step, jnp.zeros((), jnp.float32), jnp.zeros((), bool)

    def observe(self, state: jax.Array, key: jax.Array) -> jax.Array:
        return (state * jnp.array([self.x_scale, self.y_scale])).astype(jnp.float32)
