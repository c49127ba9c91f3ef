"""The `pixels:` family: five control tasks rendered in JAX to RGB frames, over distractor backgrounds.

    tasks.py        dynamics, rewards, probe features and parts of each task
    render.py       signed-distance primitives, the pixel grid, anti-aliased painting
    scene.py        part roles and their colours
    palettes.py     the disjoint colour sets A (train) and B (test)
    distractors.py  none, noise, shapes, video, color
    env.py          PixelEnv, the JaxEnv that puts them together
    family.py       the `pixels:` registry entry
"""

from envs.pixels.env import PixelEnv, PixelOptionError, PixelState
from envs.pixels.tasks import TASKS

__all__ = ["TASKS", "PixelEnv", "PixelOptionError", "PixelState"]
