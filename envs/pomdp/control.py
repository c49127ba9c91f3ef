"""POPGym's partially observed control tasks, on top of our CartPole-v1 and Pendulum-v1 ports.

PositionOnlyCartPole (the S5 paper's "StatelessCartPole"): obs `[x, theta]`, reward +1/max_steps per step,
terminated when the pole falls, truncated at max_steps (200 / 400 / 600). PositionOnlyPendulum: obs
`[cos theta, sin theta]`, gymnasium's reward shifted and scaled from [-16.27, 0] to [-1, 1] and divided by
max_steps (200 / 150 / 100). The Noisy variants add N(0, sigma^2) to every observation, reset included, and clip
it to the observation space (sigma 0.1 / 0.2 / 0.3, 200 steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from envs.classic import CartPole, Pendulum
from envs.pomdp.base import PopgymEnv
from envs.spaces import Box

PENDULUM_HALF_RANGE = 16.2736044 / 2  # gymnasium's worst cost is pi^2 + 0.1 * 8^2 + 0.001 * 2^2


def _noisy(space: Box, obs: jax.Array, sigma: float, key: jax.Array) -> jax.Array:
    noisy = obs + sigma * jax.random.normal(key, obs.shape)
    return jnp.clip(noisy, space.low, space.high).astype(jnp.float32)


@dataclass(frozen=True)
class PositionOnlyCartPole(CartPole, PopgymEnv):
    max_episode_steps: int = 200
    name: str = "PositionOnlyCartPole"

    @property
    def observation_space(self) -> Box:
        high = np.array([self.x_threshold * 2, self.theta_threshold * 2], np.float32)
        return Box(-high, high, (2,))

    def transition(self, state, action, key):
        state, _, terminated = super().transition(state, action, key)
        return state, jnp.full((), 1 / self.max_episode_steps, jnp.float32), terminated

    def observe(self, state, key):
        return state[jnp.array([0, 2])].astype(jnp.float32)


@dataclass(frozen=True)
class NoisyPositionOnlyCartPole(PositionOnlyCartPole):
    noise_sigma: float = 0.1
    name: str = "NoisyPositionOnlyCartPole"

    def observe(self, state, key):
        return _noisy(self.observation_space, super().observe(state, key), self.noise_sigma, key)


@dataclass(frozen=True)
class PositionOnlyPendulum(Pendulum, PopgymEnv):
    max_episode_steps: int = 200
    name: str = "PositionOnlyPendulum"

    @property
    def observation_space(self) -> Box:
        return Box.uniform(-1.0, 1.0, (2,))

    def transition(self, state, action, key):
        state, reward, terminated = super().transition(state, action, key)
        scaled = (reward + PENDULUM_HALF_RANGE) / PENDULUM_HALF_RANGE / self.max_episode_steps
        return state, scaled.astype(jnp.float32), terminated

    def observe(self, state, key):
        return super().observe(state, key)[:2]


@dataclass(frozen=True)
class NoisyPositionOnlyPendulum(PositionOnlyPendulum):
    noise_sigma: float = 0.1
    name: str = "NoisyPositionOnlyPendulum"

    def observe(self, state, key):
        return _noisy(self.observation_space, super().observe(state, key), self.noise_sigma, key)
