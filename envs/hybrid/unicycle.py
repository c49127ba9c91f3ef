"""`hybrid:unicycle_resources`: drive a unicycle robot to the nearest of five resources within 5 s.

The robot's pose (x, y, theta) follows the unicycle kinematics x' = v cos(theta), y' = v sin(theta),
theta' = omega, with the action (v, omega) scaled from [-1, 1] to the speed and turn-rate limits and integrated by
RK4 over each `dt` = 0.1 s step. Five resources lie uniformly in a square around the start; at the last step the
reward is -(distance to the nearest resource), zero before, so an episode's return is that final distance.

The task is the robot demo of neural hybrid automata (Poli et al. 2021): a high-level policy picks which resource
to go to (the automaton's mode) and a low-level controller drives there. With the speed limit, far resources
cannot be reached in time, so the best pick is (nearly always) the nearest one.

Observation: (x, y, cos theta, sin theta, then the resources' x, y), 4 + 2 * resources numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.protocol import JaxEnv
from envs.spaces import Box


@struct.dataclass
class UnicycleState:
    pose: jax.Array  # [3] x, y, theta
    resources: jax.Array  # [resources, 2]
    time: jax.Array  # steps taken


@dataclass(frozen=True)
class UnicycleResources(JaxEnv):
    resources: int = 5
    arena: float = 4.0  # the start and the resources lie in [-arena, arena]^2
    max_speed: float = 0.5  # m/s: within 5 s only a near resource is in reach
    max_turn: float = 2.0  # rad/s
    dt: float = 0.1
    max_episode_steps: int = 50  # 5 s
    name: str = "hybrid:unicycle_resources"

    @property
    def observation_space(self) -> Box:
        size = 4 + 2 * self.resources
        return Box(np.full(size, -np.inf, np.float32), np.full(size, np.inf, np.float32), (size,))

    @property
    def action_space(self) -> Box:
        return Box.uniform(-1.0, 1.0, (2,))

    def initial_state(self, key: jax.Array) -> UnicycleState:
        start_key, heading_key, resource_key = jax.random.split(key, 3)
        xy = jax.random.uniform(start_key, (2,), minval=-self.arena, maxval=self.arena)
        theta = jax.random.uniform(heading_key, (1,), minval=-jnp.pi, maxval=jnp.pi)
        resources = jax.random.uniform(resource_key, (self.resources, 2), minval=-self.arena, maxval=self.arena)
        return UnicycleState(jnp.concatenate([xy, theta]), resources, jnp.zeros((), jnp.int32))

    def velocity(self, pose: jax.Array, action: jax.Array) -> jax.Array:
        """d(x, y, theta)/dt under the action in [-1, 1]^2."""
        action = jnp.clip(action, -1.0, 1.0)
        v, omega = self.max_speed * action[0], self.max_turn * action[1]
        return jnp.stack([v * jnp.cos(pose[2]), v * jnp.sin(pose[2]), omega])

    def advance(self, pose: jax.Array, action: jax.Array) -> jax.Array:
        """The pose one `dt` on with the action held (one RK4 step); pure and differentiable, so a controller can
        be trained through it."""
        f = lambda p: self.velocity(p, action)
        k1 = f(pose)
        k2 = f(pose + 0.5 * self.dt * k1)
        k3 = f(pose + 0.5 * self.dt * k2)
        k4 = f(pose + self.dt * k3)
        return pose + self.dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    def nearest_distance(self, pose: jax.Array, resources: jax.Array) -> jax.Array:
        return jnp.min(jnp.linalg.norm(resources - pose[:2], axis=-1))

    def transition(self, state: UnicycleState, action: jax.Array, key: jax.Array):
        del key
        pose = self.advance(state.pose, jnp.reshape(action, (2,)))
        time = state.time + 1
        last = time >= self.max_episode_steps
        reward = jnp.where(last, -self.nearest_distance(pose, state.resources), 0.0)
        return UnicycleState(pose, state.resources, time), reward, jnp.zeros((), bool)

    def observe(self, state: UnicycleState, key: jax.Array) -> jax.Array:
        del key
        pose = state.pose
        head = jnp.stack([pose[0], pose[1], jnp.cos(pose[2]), jnp.sin(pose[2])])
        return jnp.concatenate([head, state.resources.reshape(-1)]).astype(jnp.float32)
