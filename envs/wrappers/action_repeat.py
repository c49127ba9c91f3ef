"""Action repeat: each agent step applies its action for `repeats` inner steps and sums their rewards.

The repeats stop where the inner episode ends: what follows in that agent step is computed (under vmap both
sides of a branch run anyway) and discarded, so the step hands out the ending inner step's flags and
`final_obs`, the first observation of the next episode as `obs`, and the rewards up to the end. The time limit
and `episode_length` count agent steps: ceil(inner steps / repeats), since every agent step but an episode's
last one makes exactly `repeats` inner steps. `episode_return` is the inner one, the same sum of rewards.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from envs.protocol import JaxEnv, TimeStep, tree_where
from envs.wrapper import Wrapper


class ActionRepeatError(ValueError):
    """A repeat count that is not a positive integer."""


class ActionRepeat(Wrapper):
    """Each action held for `repeats` inner steps (see the module docstring). It keeps no episode state; a
    subclass's `observation` and `action` apply once per agent step."""

    def __init__(self, env: JaxEnv, repeats: int):
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ActionRepeatError(f"action repeat needs a positive integer number of repeats, got {repeats!r}")
        super().__init__(env)
        self.repeats = repeats

    @property
    def max_episode_steps(self) -> int:
        return math.ceil(self.env.max_episode_steps / self.repeats)

    def step(self, state, action: jax.Array, key: jax.Array):
        if self.repeats == 1:
            return super().step(state, action, key)
        action = self.action(action, None)
        keys = jax.random.split(key, self.repeats)
        state, timestep = self.env.step(state, action, keys[0])

        def repeat(carry, repeat_key):
            state, timestep = carry
            ended = timestep.done  # the carried timestep stays that of the ending step once an episode ended
            next_state, next_step = self.env.step(state, action, repeat_key)
            reward = timestep.reward + jnp.where(ended, 0.0, next_step.reward)
            state = tree_where(ended, state, next_state)
            timestep = tree_where(ended, timestep, next_step).replace(reward=reward)
            return (state, timestep), None

        (state, timestep), _ = jax.lax.scan(repeat, (state, timestep), keys[1:])
        return state, self._outgoing(self._in_agent_steps(timestep), None, None)

    def _in_agent_steps(self, timestep: TimeStep) -> TimeStep:
        inner_length = timestep.info["episode_length"]
        length = (inner_length + self.repeats - 1) // self.repeats
        return timestep.replace(info={**timestep.info, "episode_length": length})

    def __repr__(self) -> str:
        return f"ActionRepeat({self.env!r}, repeats={self.repeats})"
