"""Pendulum-v1 as a functional JAX env, matching gymnasium's version.

Observation `[cos(theta), sin(theta), theta_dot]`, torque in [-2, 2], reward
`-(normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2)` computed on the state *before* the step, semi-implicit
Euler with dt=0.05 and the angular speed clipped to 8, initial theta ~ U[-pi, pi] and theta_dot ~ U[-1, 1],
never terminates, 200-step time limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from envs.protocol import JaxEnv
from envs.spaces import Box


def angle_normalize(theta: jax.Array) -> jax.Array:
    """Wrap to [-pi, pi) so the cost is zero exactly at upright, whatever the number of turns."""
    return ((theta + jnp.pi) % (2 * jnp.pi)) - jnp.pi


@dataclass(frozen=True)
class Pendulum(JaxEnv):
    """Constants are fields (gymnasium exposes `g` as a make() kwarg; the others matter for shifted variants)."""

    g: float = 10.0
    m: float = 1.0
    l: float = 1.0  # the original's attribute name for the pole length
    dt: float = 0.05
    max_speed: float = 8.0
    max_torque: float = 2.0
    max_episode_steps: int = 200
    name: str = "Pendulum-v1"

    @property
    def observation_space(self) -> Box:
        high = np.array([1.0, 1.0, self.max_speed], np.float32)
        return Box(-high, high, (3,))

    @property
    def action_space(self) -> Box:
        return Box.uniform(-self.max_torque, self.max_torque, (1,))

    def initial_state(self, key: jax.Array) -> jax.Array:
        high = jnp.array([jnp.pi, 1.0])
        return jax.random.uniform(key, (2,), minval=-high, maxval=high)

    def transition(self, state: jax.Array, action: jax.Array, key: jax.Array):
        del key  # deterministic dynamics
        theta, theta_dot = state
        u = jnp.clip(jnp.reshape(action, (-1,))[0], -self.max_torque, self.max_torque)
        cost = angle_normalize(theta) ** 2 + 0.1 * theta_dot**2 + 0.001 * u**2
        angular_acc = 3 * self.g / (2 * self.l) * jnp.sin(theta) + 3.0 / (self.m * self.l**2) * u
        # Semi-implicit Euler: the angle advances with the *new*, clipped speed.
        new_theta_dot = jnp.clip(theta_dot + angular_acc * self.dt, -self.max_speed, self.max_speed)
        new_theta = theta + new_theta_dot * self.dt
        return jnp.stack([new_theta, new_theta_dot]), -cost, jnp.zeros((), bool)

    def observe(self, state: jax.Array, key: jax.Array) -> jax.Array:
        theta, theta_dot = state
        return jnp.stack([jnp.cos(theta), jnp.sin(theta), theta_dot]).astype(jnp.float32)
