"""A tiny JaxEnv for wrapper tests (named uniquely: pytest puts test folders on sys.path, so helper modules
share one namespace): the position moves by the action, the reward is the new position, the episode
terminates once the position reaches `target`, and `extra_info` reports the position."""

from dataclasses import dataclass

import jax.numpy as jnp

from envs.protocol import JaxEnv
from envs.spaces import Box, Discrete


@dataclass(frozen=True)
class Counter(JaxEnv):
    target: int = 5
    max_episode_steps: int = 100
    name: str = "counter"
    report_position: bool = False

    @property
    def observation_space(self) -> Box:
        return Box.uniform(0.0, 1000.0, (1,))

    @property
    def action_space(self) -> Discrete:
        return Discrete(3)

    def initial_state(self, key):
        return jnp.zeros((), jnp.int32)

    def transition(self, state, action, key):
        position = state + action
        return position, position.astype(jnp.float32), position >= self.target

    def observe(self, state, key):
        return state.astype(jnp.float32)[None]

    def extra_info(self, state):
        return {"position": state} if self.report_position else {}
