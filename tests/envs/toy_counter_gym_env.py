"""A user's own gymnasium env, registered on import, for testing the `gym:module:Id` path
(named uniquely: pytest puts test folders on sys.path, so helper modules share one namespace).

The observation is the step count (as float64, to check the adapter casts to float32); the reward is the action,
so clipping is visible; the episode terminates after `target` steps. No time limit is registered.
"""

import gymnasium
import numpy as np

TOY_ID = "HsrlToyCounter-v0"


class ToyCounter(gymnasium.Env):
    observation_space = gymnasium.spaces.Box(0.0, np.inf, (1,), np.float64)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, target: int = 3):
        self.target = target
        self.count = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.count = 0
        return np.array([0.0]), {}

    def step(self, action):
        assert self.action_space.contains(action), action
        self.count += 1
        return np.array([float(self.count)]), float(action[0]), self.count >= self.target, False, {}


if TOY_ID not in gymnasium.registry:
    gymnasium.register(id=TOY_ID, entry_point=ToyCounter)
