"""Hybrid dynamical systems: discrete modes, a continuous flow per mode, and events that switch the mode and
jump the state. Data generators (Reno TCP, the switching linear system, the bouncing ball) yield trajectories with
their true modes, segment boundaries and events (`records.Trajectories`); the paddle and unicycle tasks are
steppable envs. See envs/hybrid/family.py for the `hybrid:` names."""

from envs.hybrid.bouncing_ball import BouncingBall
from envs.hybrid.family import ENVS, GENERATORS, make_generator
from envs.hybrid.paddle import BouncingBallPaddle
from envs.hybrid.records import EventLog, HybridDataError, Trajectories, check_arrays, load_npz
from envs.hybrid.reno_tcp import RenoTCP
from envs.hybrid.switching_linear import SwitchingLinear
from envs.hybrid.unicycle import UnicycleResources

__all__ = ["ENVS", "GENERATORS", "BouncingBall", "BouncingBallPaddle", "EventLog", "HybridDataError", "RenoTCP",
           "SwitchingLinear", "Trajectories", "UnicycleResources", "check_arrays", "load_npz", "make_generator"]
