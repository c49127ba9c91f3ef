"""A gymnasium env that exists only in the test suite; importing this module registers it.

Used to prove that `--env gym:tests.scripts.toy_gym_env:ToyReach-v0` trains a user's own env end to end.
"""

import gymnasium
import numpy as np


class ToyReach(gymnasium.Env):
    """Move a point on a line towards the origin; reward is minus the distance."""

    def __init__(self):
        self.observation_space = gymnasium.spaces.Box(-5.0, 5.0, (1,), np.float32)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.position = np.zeros(1, np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = self.np_random.uniform(-3, 3, size=1).astype(np.float32)
        return self.position.copy(), {}

    def step(self, action):
        self.position = np.clip(self.position + 0.5 * np.asarray(action, np.float32), -5, 5)
        reward = -float(abs(self.position[0]))
        return self.position.copy(), reward, False, False, {}


if "ToyReach-v0" not in gymnasium.registry:
    gymnasium.register("ToyReach-v0", entry_point=ToyReach, max_episode_steps=20)
