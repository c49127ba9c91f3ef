"""Partially observable JAX envs: ports of the POPGym suite and the meta-RL random-projection wrapper.

    import envs
    env = envs.make("pomdp:RepeatPreviousEasy")        # or envs.pomdp.make_popgym("RepeatPreviousEasy")
    gymnasium.make("hsrl/RepeatPreviousEasy-v0")       # popgym's own spaces, for outside code
    env = envs.make("pomdp:meta?base=jax:Pendulum-v1&trials=4")

Spaces follow popgym: a card stays `Discrete`, several discrete values are `MultiDiscrete`; the one change is
that board coordinates (Battleship, MineSweeper) are one flat `Discrete(rows * cols)` action on the JAX side.
`one_hot_observation` turns any of these observations into the float vector a network takes.
"""

from envs.pomdp.base import PopgymEnv, observation_size, one_hot_observation
from envs.pomdp.cards import Autoencode, Concentration, CountRecall, HigherLower, RepeatFirst, RepeatPrevious
from envs.pomdp.control import (
    NoisyPositionOnlyCartPole,
    NoisyPositionOnlyPendulum,
    PositionOnlyCartPole,
    PositionOnlyPendulum,
)
from envs.pomdp.family import POMDP_ENVS, make_popgym
from envs.pomdp.games import Battleship, MineSweeper, MultiarmedBandit
from envs.pomdp.gymnasium_ids import PopgymToGymnasium, register_gymnasium_ids
from envs.pomdp.meta import MetaProjection, projected_cartpole

__all__ = [
    "POMDP_ENVS",
    "Autoencode",
    "Battleship",
    "Concentration",
    "CountRecall",
    "HigherLower",
    "MetaProjection",
    "MineSweeper",
    "MultiarmedBandit",
    "NoisyPositionOnlyCartPole",
    "NoisyPositionOnlyPendulum",
    "PopgymEnv",
    "PopgymToGymnasium",
    "PositionOnlyCartPole",
    "PositionOnlyPendulum",
    "RepeatFirst",
    "RepeatPrevious",
    "make_popgym",
    "observation_size",
    "one_hot_observation",
    "projected_cartpole",
    "register_gymnasium_ids",
]
