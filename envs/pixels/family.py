"""The `pixels:` family: image-observation control tasks with distractor backgrounds, rendered in JAX.

    pixels:pendulum_swingup                               32x32, no distractor, action repeat 2
    pixels:pendulum_swingup?distractor=shapes&num_shapes=6
    pixels:cartpole_swingup?size=64&distractor=video&palette=B
    pixels:reacher2?distractor=color&action_repeat=4&max_episode_steps=100

Tasks: pendulum_swingup, cartpole_balance, cartpole_swingup, point_mass_reach, reacher2. Options: `size`,
`distractor` (none | noise | shapes | video | color), `palette` (A | B), `num_shapes` (with shapes),
`action_repeat`, `max_episode_steps` (agent steps). See envs/pixels/env.py and docs/pixels.md.
"""

from __future__ import annotations

from typing import Any

from envs.pixels.env import PixelEnv
from envs.pixels.tasks import TASKS
from envs.registry import not_found, register_family


@register_family("pixels")
def make_pixels_env(env_id: str, kwargs: dict[str, Any]) -> PixelEnv:
    if env_id not in TASKS:
        raise not_found("pixels task", env_id, list(TASKS), f"pixels:{env_id}")
    return PixelEnv(task_name=env_id, **kwargs)
