"""Env wrappers built on `envs.wrapper.Wrapper`: previous-action inputs, action repeat and action noise (also as a
gymnasium wrapper for host envs)."""

from envs.wrapper import Wrapper, WrapperState
from envs.wrappers.action_noise import ActionNoise, GymnasiumActionNoise
from envs.wrappers.action_repeat import ActionRepeat
from envs.wrappers.previous_action import PreviousActionObservation

__all__ = [
    "ActionNoise",
    "ActionRepeat",
    "GymnasiumActionNoise",
    "PreviousActionObservation",
    "Wrapper",
    "WrapperState",
]
