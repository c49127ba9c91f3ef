"""Tiny deterministic JAX envs for the core tests (named uniquely: pytest puts test folders on sys.path).

`CounterEnv`: the observation is (step count, last action), the reward is `reward_base + action`, never a
terminal, a time limit of `limit` steps; its initial state does not depend on the key, so the JAX env and its
gymnasium port (registered here as HsrlTestCounter-v0) produce the same episodes.
"""

from __future__ import annotations

import gymnasium
import jax.numpy as jnp

from envs.gymnasium_register import JaxToGymnasium
from envs.protocol import JaxEnv
from envs.spaces import Box

COUNTER_GYM_ID = "HsrlTestCounter-v0"


class CounterEnv(JaxEnv):
    observation_space = Box.uniform(-100.0, 100.0, (2,))
    action_space = Box.uniform(-1.0, 1.0, (1,))
    name = "counter"

    def __init__(self, limit: int = 5, reward_base: float = 0.0, action_reward: float = 1.0):
        self.max_episode_steps = limit
        self.reward_base = reward_base
        self.action_reward = action_reward

    def initial_state(self, key):
        return jnp.zeros(2)

    def transition(self, state, action, key):
        reward = self.reward_base + self.action_reward * action[0]
        return jnp.stack([state[0] + 1.0, action[0]]), reward, jnp.zeros((), bool)

    def observe(self, state, key):
        return state


if COUNTER_GYM_ID not in gymnasium.registry:
    gymnasium.register(id=COUNTER_GYM_ID, entry_point=lambda **kwargs: JaxToGymnasium(CounterEnv(**kwargs)))
