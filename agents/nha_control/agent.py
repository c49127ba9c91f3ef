"""`--agent nha_control`: the env decides which of the two control uses of neural hybrid automata runs."""

from __future__ import annotations

from agents.nha_control.config import NHAControlConfig
from core.protocols import SelfSupervisedAgent
from core.validation import ConfigError
from envs.hybrid.paddle import BouncingBallPaddle
from envs.hybrid.unicycle import UnicycleResources
from envs.protocol import EnvSpec

TASKS = ("hybrid:unicycle_resources", "hybrid:bouncing_ball_paddle")  # targets.py, paddle.py


class NHAControl(SelfSupervisedAgent):
    """Holds the config and the env's spec; `learner(env, seed)` builds the controller for that env."""

    name = "nha_control"

    def __init__(self, config: NHAControlConfig, spec: EnvSpec):
        if spec.name not in TASKS:
            raise ConfigError(f"--agent nha_control runs on {' or '.join(TASKS)}, not {spec.name}")
        self.config = config
        self.spec = spec

    def learner(self, env, seed: int):
        from agents.nha_control.paddle import PaddleMPC
        from agents.nha_control.targets import TargetSelection

        if isinstance(env, UnicycleResources):
            return TargetSelection(self.config, env)
        if isinstance(env, BouncingBallPaddle):
            return PaddleMPC(self.config, env, seed)
        raise ConfigError(f"--agent nha_control needs the {self.spec.name} env itself, got {type(env).__name__}")
