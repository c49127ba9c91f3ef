"""The `pomdp:` family: every POPGym port by popgym's class name, and the meta-RL projection wrapper.

    pomdp:RepeatPreviousEasy            popgym's level presets (Easy / Medium / Hard)
    pomdp:StatelessCartPoleHard         the S5 paper's spelling of PositionOnlyCartPoleHard
    pomdp:RepeatPrevious?k=8            the bare family with popgym's defaults; options set any field
    pomdp:meta?base=jax:Pendulum-v1&trials=4     (see envs.pomdp.meta; `meta_projection` is the same)
    pomdp:ProjectedCartPole?trials=16
"""

from __future__ import annotations

import re
from typing import Any

from envs.pomdp.base import PopgymEnv
from envs.pomdp.cards import Autoencode, Concentration, CountRecall, HigherLower, RepeatFirst, RepeatPrevious
from envs.pomdp.control import (
    NoisyPositionOnlyCartPole,
    NoisyPositionOnlyPendulum,
    PositionOnlyCartPole,
    PositionOnlyPendulum,
)
from envs.pomdp.games import Battleship, MineSweeper, MultiarmedBandit
from envs.pomdp.meta import MetaProjection, meta_from_names, projected_cartpole
from envs.registry import not_found, register_family

# popgym class name -> (our class, its constructor arguments); filled by one `_levels` call per family.
POMDP_ENVS: dict[str, tuple[type[PopgymEnv], dict[str, Any]]] = {}


def _levels(cls: type[PopgymEnv], easy: dict, medium: dict, hard: dict) -> None:
    family = cls.__name__
    POMDP_ENVS[family] = (cls, {"name": family})
    for level, kwargs in (("Easy", easy), ("Medium", medium), ("Hard", hard)):
        POMDP_ENVS[family + level] = (cls, {**kwargs, "name": family + level})


_levels(RepeatFirst, {"num_decks": 1}, {"num_decks": 8}, {"num_decks": 16})
_levels(RepeatPrevious, {"num_decks": 1, "k": 4}, {"num_decks": 2, "k": 32}, {"num_decks": 3, "k": 64})
_levels(CountRecall, {"num_decks": 1, "deck_type": "colors"}, {"num_decks": 2, "deck_type": "suits"},
        {"num_decks": 4, "deck_type": "ranks"})
_levels(Autoencode, {"num_decks": 1}, {"num_decks": 2}, {"num_decks": 3})
_levels(MultiarmedBandit, {"num_bandits": 10, "episode_length": 200}, {"num_bandits": 20, "episode_length": 400},
        {"num_bandits": 30, "episode_length": 600})
_levels(HigherLower, {"num_decks": 1}, {"num_decks": 2}, {"num_decks": 3})
_levels(Concentration, {"num_decks": 1, "deck_type": "colors"}, {"num_decks": 2, "deck_type": "colors"},
        {"num_decks": 1, "deck_type": "ranks"})
_levels(MineSweeper, {"difficulty": "easy"}, {"difficulty": "medium"}, {"difficulty": "hard"})
_levels(Battleship, {"board_size": 8}, {"board_size": 10}, {"board_size": 12})
_levels(PositionOnlyCartPole, {"max_episode_steps": 200}, {"max_episode_steps": 400}, {"max_episode_steps": 600})
_levels(NoisyPositionOnlyCartPole, {"noise_sigma": 0.1}, {"noise_sigma": 0.2}, {"noise_sigma": 0.3})
_levels(PositionOnlyPendulum, {"max_episode_steps": 200}, {"max_episode_steps": 150}, {"max_episode_steps": 100})
_levels(NoisyPositionOnlyPendulum, {"noise_sigma": 0.1}, {"noise_sigma": 0.2}, {"noise_sigma": 0.3})

META_ENVS = {"meta": meta_from_names, "meta_projection": meta_from_names, "ProjectedCartPole": projected_cartpole}

_VERSION = re.compile(r"-v\d+$")


def canonical_name(name: str) -> str:
    """Strip a `-v0` suffix and map the S5 paper's "Stateless" names to popgym's "PositionOnly" ones."""
    return _VERSION.sub("", name).replace("Stateless", "PositionOnly")


def make_popgym(name: str, **overrides: Any) -> PopgymEnv:
    """One port by popgym's class name (e.g. "RepeatPreviousEasy"); `overrides` replace the preset's fields."""
    cls, kwargs = POMDP_ENVS[canonical_name(name)]
    return cls(**{**kwargs, **overrides})


@register_family("pomdp")
def make_pomdp_env(env_id: str, kwargs: dict[str, Any]) -> PopgymEnv | MetaProjection:
    name = canonical_name(env_id)
    if name in META_ENVS:
        return META_ENVS[name](**kwargs)
    if name not in POMDP_ENVS:
        raise not_found("pomdp env", env_id, [*POMDP_ENVS, *META_ENVS], f"pomdp:{env_id}")
    return make_popgym(name, **kwargs)
