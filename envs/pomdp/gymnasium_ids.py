"""The POPGym ports as gymnasium envs, `hsrl/<PopgymClassName>-v0`, with exactly popgym's spaces.

The reverse adapter is `envs.JaxToGymnasium` with the port's own gymnasium spaces and converters (a Discrete
observation comes back as a Python int, Autoencode's as a tuple, a board action is popgym's `[row, col]`).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from envs.gymnasium_register import NAMESPACE, JaxToGymnasium
from envs.pomdp.base import PopgymEnv


class PopgymToGymnasium(JaxToGymnasium):
    def __init__(self, env: PopgymEnv, render_mode: str | None = None):
        super().__init__(env, render_mode=render_mode)
        self.observation_space = env.gymnasium_observation_space()
        self.action_space = env.gymnasium_action_space()

    def _action(self, action) -> np.ndarray:
        return self.env.from_gymnasium_action(action)

    def _obs(self, obs) -> Any:
        return self.env.to_gymnasium_observation(np.asarray(obs))


def make_registered(pomdp_id: str, render_mode: str | None = None, **kwargs: Any) -> PopgymToGymnasium:
    """Gymnasium's entry point for `hsrl/<pomdp_id>-v0`; kwargs of `gymnasium.make` override the preset."""
    from envs.pomdp.family import make_popgym

    return PopgymToGymnasium(make_popgym(pomdp_id, **kwargs), render_mode=render_mode)


def gymnasium_id(pomdp_id: str) -> str:
    return f"{NAMESPACE}/{pomdp_id}-v0"


def register_gymnasium_ids() -> list[str]:
    """Register every port (idempotent); returns the ids."""
    from envs.pomdp.family import POMDP_ENVS, make_popgym

    ids = []
    for pomdp_id in POMDP_ENVS:
        gym_id = gymnasium_id(pomdp_id)
        ids.append(gym_id)
        if gym_id not in gymnasium.registry:
            gymnasium.register(id=gym_id, entry_point=f"{__name__}:make_registered", kwargs={"pomdp_id": pomdp_id},
                               max_episode_steps=make_popgym(pomdp_id).max_episode_steps)
    return ids
