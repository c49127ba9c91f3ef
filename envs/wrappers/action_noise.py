"""Gaussian action noise inside the env: the simulator receives `a + N(0, std^2 I)`, clipped to the action box.

The noise is part of the environment's dynamics (an actuator that does not do exactly what it is told), so it is
added where the env applies the action, and whatever collects transitions keeps the action the agent chose.
Two forms of one idea:

- `ActionNoise`, a JaxEnv wrapper: the noise comes from the step's key, so a jitted rollout stays a pure function
  of its keys;
- `GymnasiumActionNoise`, a `gymnasium.ActionWrapper` for host envs (`GymnasiumEnv(env_wrapper=...)`): the noise
  comes from the env's own `np_random`, which `reset(seed=...)` seeds, so a run is reproducible from its seed.

Clipping to the action box keeps the noisy action a legal one; for MuJoCo envs the box is the actuators'
`ctrlrange`, the same clamp the simulator would apply.
"""

from __future__ import annotations

import math

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

from envs.protocol import JaxEnv
from envs.spaces import Box
from envs.wrapper import Wrapper


class ActionNoiseError(ValueError):
    """A noise scale that is not a finite number >= 0, or an env whose actions are not a Box."""


def checked_std(std: float) -> float:
    if isinstance(std, bool) or not isinstance(std, int | float) or not math.isfinite(std) or std < 0:
        raise ActionNoiseError(f"action noise std must be a finite number >= 0, got {std!r}")
    return float(std)


class ActionNoise(Wrapper):
    """A JaxEnv whose inner env steps with `clip(action + std * N(0, I), low, high)`; see the module docstring."""

    def __init__(self, env: JaxEnv, std: float):
        super().__init__(env)
        if not isinstance(env.action_space, Box):
            raise ActionNoiseError(f"action noise needs continuous (Box) actions; {env.name} has {env.action_space}")
        self.std = checked_std(std)

    def step(self, state, action: jax.Array, key: jax.Array):
        noise_key, step_key = jax.random.split(key)
        space = self.action_space
        noise = self.std * jax.random.normal(noise_key, jnp.shape(action))
        noisy = jnp.clip(action + noise, space.low, space.high).astype(jnp.result_type(action))
        return super().step(state, noisy, step_key)

    def __repr__(self) -> str:
        return f"ActionNoise({self.env!r}, std={self.std})"


class GymnasiumActionNoise(gymnasium.ActionWrapper):
    """A gymnasium env whose simulator receives `clip(action + std * N(0, I), low, high)`, drawn from the env's
    seeded `np_random`; see the module docstring."""

    def __init__(self, env: gymnasium.Env, std: float):
        super().__init__(env)
        if not isinstance(env.action_space, gymnasium.spaces.Box):
            raise ActionNoiseError(f"action noise needs continuous (Box) actions; {env} has {env.action_space}")
        self.std = checked_std(std)

    def action(self, action):
        space = self.action_space
        action = np.asarray(action, space.dtype)
        noisy = action + self.std * self.np_random.standard_normal(action.shape)
        return np.clip(noisy, space.low, space.high).astype(space.dtype)
