"""`hybrid:bouncing_ball_paddle`: keep a bouncing ball's apex at a target height with a paddle's push.

The ball falls under gravity (y' = v, v' = -g). At a bounce (y reaches 0 going down) the paddle adds its push:
v+ = -e v- + kappa u, with u in [0, 1] chosen every `dt` = 0.1 s and held for that step. A ball at rest on the
paddle (|v+| below `rest_speed`) is launched by the next push strong enough. The flight between bounces is solved
in closed form, with at most `max_bounces_per_step` bounces inside one 0.1 s step.

Observation (y, v); reward -(h - h*)^2 with h = y + v^2 / (2 g) the apex height of the current flight (its energy
height, defined falling or rising), computed after the step. Episodes last `max_episode_steps` steps (10 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from envs.protocol import JaxEnv
from envs.spaces import Box


@dataclass(frozen=True)
class BouncingBallPaddle(JaxEnv):
    gravity: float = 9.81
    restitution: float = 0.8
    kappa: float = 5.0
    rest_speed: float = 0.05
    target_height: float = 2.0
    dt: float = 0.1
    max_bounces_per_step: int = 4
    max_episode_steps: int = 100
    name: str = "hybrid:bouncing_ball_paddle"

    @property
    def observation_space(self) -> Box:
        return Box(np.array([0.0, -np.inf], np.float32), np.array([np.inf, np.inf], np.float32), (2,))

    @property
    def action_space(self) -> Box:
        return Box.uniform(0.0, 1.0, (1,))

    def initial_state(self, key: jax.Array) -> jax.Array:
        key_y, key_v = jax.random.split(key)
        return jnp.stack([jax.random.uniform(key_y, (), minval=1.0, maxval=3.0),
                          jax.random.uniform(key_v, (), minval=-1.0, maxval=1.0)])

    def apex(self, state: jax.Array) -> jax.Array:
        return state[0] + state[1] ** 2 / (2 * self.gravity)

    def advance(self, state: jax.Array, push: jax.Array, duration: float) -> jax.Array:
        """The state `duration` seconds on, the paddle pushing `push` in [0, 1] at each bounce; pure and
        jit-able, so a planner can roll it out."""
        g = self.gravity

        def bounce(carry, _):
            y, v, left = carry
            resting = (y <= 0) & (v <= 0)
            t_hit = jnp.where(resting, 0.0, (v + jnp.sqrt(jnp.maximum(v * v + 2 * g * y, 0.0))) / g)
            hits = t_hit <= left
            v_minus = v - g * t_hit
            v_plus = -self.restitution * v_minus + self.kappa * push
            v_plus = jnp.where(v_plus < self.rest_speed, 0.0, v_plus)
            y_new = jnp.where(hits, 0.0, y)
            v_new = jnp.where(hits, v_plus, v)
            return (y_new, v_new, jnp.where(hits, left - t_hit, left)), None

        y, v = state[0], state[1]
        # Move to the first bounce of each round; rounds that find no bounce within the time left change nothing.
        (y, v, left), _ = jax.lax.scan(bounce, (y, v, jnp.asarray(duration, state.dtype)), None,
                                       length=self.max_bounces_per_step)
        resting = (y <= 0) & (v <= 0)
        y_end = jnp.where(resting, 0.0, jnp.maximum(y + v * left - 0.5 * g * left**2, 0.0))
        v_end = jnp.where(resting, 0.0, v - g * left)
        return jnp.stack([y_end, v_end])

    def transition(self, state: jax.Array, action: jax.Array, key: jax.Array):
        del key
        push = jnp.clip(jnp.reshape(action, (-1,))[0], 0.0, 1.0)
        next_state = self.advance(state, push, self.dt)
        reward = -((self.apex(next_state) - self.target_height) ** 2)
        return next_state, reward, jnp.zeros((), bool)

    def observe(self, state: jax.Array, key: jax.Array) -> jax.Array:
        del key
        return state.astype(jnp.float32)
