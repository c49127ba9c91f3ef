"""Options of `--agent nha_control`: control with a hybrid automaton, on two tasks of the `hybrid:` family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from core.validation import positive, positive_number
from worldmodels.nha.modes import ModeConfig


@dataclass(frozen=True)
class NHAControlConfig:
    """nha_control hyperparameters. --total-steps counts gradient steps (no env step is a training step).
    On hybrid:unicycle_resources: first --controller-steps steps of the low-level controller, then the target
    policy. On hybrid:bouncing_ball_paddle: every step is one full-batch epoch of the NHA fit."""

    # --- hybrid:unicycle_resources: hierarchical target selection ---
    controller_steps: Annotated[int, positive] = 1000
    """Unicycle: gradient steps of the low-level controller (a differentiable rollout each), taken before the
    target policy trains; rounded up to whole --log-every chunks."""
    batch_size: Annotated[int, positive] = 256
    """Unicycle: tasks (start pose and target, or start and resources) per gradient step."""
    hidden: Annotated[int, positive] = 64
    """Unicycle: width of the controller's and the target policy's two hidden layers."""
    controller_lr: Annotated[float, positive_number] = 3e-3
    """Unicycle: Adam learning rate of the low-level controller."""
    policy_lr: Annotated[float, positive_number] = 1e-2
    """Unicycle: Adam learning rate of the target policy (REINFORCE)."""
    entropy_coef: Annotated[float, positive_number] = 1e-3
    """Unicycle: weight of the target policy's entropy bonus."""

    # --- hybrid:bouncing_ball_paddle: CEM-MPC on a learned NHA ---
    modes: Annotated[int, positive] = 2
    """Paddle: NHA modes (flight, and a spare that pruning drops)."""
    episodes: Annotated[int, positive] = 64
    """Paddle: random-push episodes of 5 s collected from the env to fit the NHA (a quarter as many more to test)."""
    event_steps: Annotated[int, positive] = 2000
    """Paddle: Adam steps of the NHA's event module (sojourn flow and jump map), fitted before each evaluation."""
    encoder_lr: Annotated[float, positive_number] = ModeConfig.encoder_lr
    """Paddle: AdamW learning rate of the NHA's mode encoder."""
    flow_lr: Annotated[float, positive_number] = ModeConfig.flow_lr
    """Paddle: AdamW learning rate of the NHA's per-mode fields."""
    cem_samples: Annotated[int, positive] = 64
    """Paddle: action sequences CEM scores per iteration."""
    cem_iterations: Annotated[int, positive] = 8
    """Paddle: CEM refinements per decision."""
    cem_elites: Annotated[int, positive] = 5
    """Paddle: sequences CEM refits its Gaussian to (at most --cem-samples)."""
    cem_horizon: Annotated[int, positive] = 20
    """Paddle: decisions of 0.1 s planned ahead (20: 2 s)."""
