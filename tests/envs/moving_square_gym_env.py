"""A user's own gymnasium env with image observations, registered on import (for `gym:module:Id`; named
uniquely because pytest puts test folders on sys.path and helper modules share one namespace).

A white square on black, 24x24 RGB uint8, moves one pixel right per step when the action is 1 and stays put
when it is 0; the reward is the square's column; the episode ends when it reaches the right edge (after 20
steps of action 1) and is truncated after 30 steps.
"""

import gymnasium
import numpy as np

SQUARE_ID = "HsrlMovingSquare-v0"
SIZE, SIDE = 24, 4


class MovingSquare(gymnasium.Env):
    observation_space = gymnasium.spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)
    action_space = gymnasium.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.column = 0
        return self.frame(), {}

    def step(self, action):
        self.column += int(action)
        return self.frame(), float(self.column), self.column >= SIZE - SIDE, False, {}

    def frame(self) -> np.ndarray:
        image = np.zeros((SIZE, SIZE, 3), np.uint8)
        image[10:10 + SIDE, self.column:self.column + SIDE] = 255
        return image


if SQUARE_ID not in gymnasium.registry:
    gymnasium.register(id=SQUARE_ID, entry_point=MovingSquare, max_episode_steps=30)
