"""Raw, unclipped actions: the env's action space as an unbounded box, so agents send env units unchanged.

Continuous agents normally act in the normalised box [-1, 1]^d, which `core.actions.to_env_action` rescales to
the env's bounds and clips. Some envs read any real vector (the combination lock's softmax over its action
entries, envs/classic/combination_lock.py), and an agent whose Gaussian policy is defined on the env's own
units (HNPG on the lock, agents/hnpg.py) wants its samples to arrive untouched. This wrapper declares the action
space unbounded, which `to_env_action` passes through without rescaling or clipping, and steps the inner env
with the action as given. Offline data recorded against the inner env's box is still loaded in normalised
units; `to_env_action(inner_space, action)` turns it back into env units.
"""

from __future__ import annotations

import numpy as np

from envs.spaces import Box
from envs.wrapper import Wrapper


class RawActions(Wrapper):
    """A JaxEnv whose flat Box action space is declared unbounded: agents act in the inner env's units."""

    def __init__(self, env):
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, Box) or len(space.shape) != 1:
            raise ValueError(f"raw actions need a flat Box action space; {env.name} has {space}")
        self._action_space = Box.uniform(-np.inf, np.inf, space.shape)

    @property
    def action_space(self) -> Box:
        return self._action_space
