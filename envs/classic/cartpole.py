"""CartPole-v1 (Barto, Sutton & Anderson 1983) as a functional JAX env, matching gymnasium's version.

Same observation `[x, x_dot, theta, theta_dot]`, actions {0: push left, 1: push right}, explicit-Euler
dynamics with tau=0.02, reward +1 on every step including the terminating one, termination when |x| > 2.4
or |theta| > 12 degrees, initial state uniform in [-0.05, 0.05]^4, and a 500-step time limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from envs.protocol import JaxEnv
from envs.spaces import Box, Discrete


@dataclass(frozen=True)
class CartPole(JaxEnv):
    """Physical constants are fields so dynamics-shifted variants can be built without subclassing."""

    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5  # half the pole's length, as in the original
    force_mag: float = 10.0
    tau: float = 0.02
    x_threshold: float = 2.4
    theta_threshold: float = 12 * 2 * math.pi / 360
    max_episode_steps: int = 500
    name: str = "CartPole-v1"

    @property
    def observation_space(self) -> Box:
        # Twice the termination thresholds, unbounded velocities: gymnasium's bounds exactly.
        high = np.array([self.x_threshold * 2, np.inf, self.theta_threshold * 2, np.inf], np.float32)
        return Box(-high, high, (4,))

    @property
    def action_space(self) -> Discrete:
        return Discrete(2)

    def initial_state(self, key: jax.Array) -> jax.Array:
        return jax.random.uniform(key, (4,), minval=-0.05, maxval=0.05)

    def transition(self, state: jax.Array, action: jax.Array, key: jax.Array):
        del key  # deterministic dynamics
        x, x_dot, theta, theta_dot = state
        force = jnp.where(jnp.reshape(action, ()) == 1, self.force_mag, -self.force_mag)
        thetaacc, xacc = self._accelerations(force, theta, theta_dot)
        # Explicit Euler: positions advance with the old velocities (gymnasium's default "euler" integrator).
        next_state = jnp.stack([
            x + self.tau * x_dot,
            x_dot + self.tau * xacc,
            theta + self.tau * theta_dot,
            theta_dot + self.tau * thetaacc,
        ])
        terminated = (jnp.abs(next_state[0]) > self.x_threshold) | (jnp.abs(next_state[2]) > self.theta_threshold)
        return next_state, jnp.ones((), jnp.float32), terminated

    def _accelerations(self, force, theta, theta_dot):
        total_mass = self.masspole + self.masscart
        polemass_length = self.masspole * self.length
        cos, sin = jnp.cos(theta), jnp.sin(theta)
        temp = (force + polemass_length * theta_dot**2 * sin) / total_mass
        thetaacc = (self.gravity * sin - cos * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * cos**2 / total_mass))
        xacc = temp - polemass_length * thetaacc * cos / total_mass
        return thetaacc, xacc

    def observe(self, state: jax.Array, key: jax.Array) -> jax.Array:
        return state.astype(jnp.float32)
