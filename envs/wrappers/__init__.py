"""Env wrappers built on `envs.wrapper.Wrapper`: previous-action inputs and action repeat."""

from envs.wrapper import Wrapper, WrapperState
from envs.wrappers.action_repeat import ActionRepeat
from envs.wrappers.previous_action import PreviousActionObservation

__all__ = ["ActionRepeat", "PreviousActionObservation", "Wrapper", "WrapperState"]
