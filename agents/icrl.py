"""In-context RL with S5 and parallel state reset: recurrent PPO presets.

The algorithm is PPO (agents/ppo.py) with a memory from `kernels.make_memory`: it acts one step at a time, and
trains each env's whole rollout sequence from the carry stored at the rollout's start with the cell's `scan`,
which resets the state at the episode starts inside the sequence (the exactness is tested). On POPGym ports the
observation carries the previous action and a first-step flag. This follows Lu et al. 2023, Structured State
Space Models for In-Context Reinforcement Learning, and this file holds only two presets of its setup:

- `ICRLConfig()`: the CPU preset, the defaults of `--agent icrl` (2 S5 layers of width 64, 32 envs x 128 steps);
- `paper_config()` / `PAPER_FLAGS`: the paper's (4 S5 layers of width 256, 64 envs x 1024 steps, 30 epochs).

    python scripts/train.py --agent icrl --env pomdp:RepeatPreviousEasy --total-steps 1024000 --log-every 40960
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from agents.ppo import PPOConfig


@dataclass(frozen=True)
class ICRLConfig(PPOConfig):
    """Recurrent PPO for in-context RL; the defaults are a CPU-sized preset of the S5 paper's setup."""

    # Plain annotations on purpose: only defaults change, and each field keeps the range PPOConfig declares.
    num_envs: int = 32
    """Parallel environments."""
    num_steps: int = 128
    """Rollout length T: each env's T steps are one training sequence."""
    update_epochs: int = 4
    """Passes over each rollout."""
    num_minibatches: int = 4
    """Minibatches per epoch, each a set of whole env sequences."""
    lr: float = 3e-4
    """Adam learning rate (no annealing)."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    hidden: tuple[int, ...] = (64, 64)
    """Widths of the actor and critic head bodies."""
    activation: str = "leaky_relu"
    """Activation of the encoder and heads."""
    encoder: tuple[int, ...] = (64, 64)
    """Encoder widths in front of the memory."""
    orthogonal_init: bool = True
    """popjaxrl's init: orthogonal, gain sqrt 2 on the encoder, 2 on head bodies, 0.01 actor out, 1 critic out."""
    memory: str = "s5"
    """Sequence memory: s5, s4d, selective, gru, lstm or none."""
    memory_size: int = 64
    """Memory width H (S5: also the HiPPO size N unless memory_options sets ssm_size)."""
    memory_layers: int = 2
    """Stacked memory layers."""


# The paper's preset as command-line flags over the `icrl` defaults (with --memory s5;
# drop --memory-options for the other memories), and as a config.
PAPER_FLAGS: tuple[str, ...] = (
    "--num-envs", "64", "--num-steps", "1024", "--update-epochs", "30", "--num-minibatches", "8", "--lr", "5e-5",
    "--gae-lambda", "1.0", "--ent-coef", "0.0", "--vf-coef", "1.0", "--hidden", "128", "128", "--encoder", "128",
    "256", "--memory-size", "256", "--memory-layers", "4", "--memory-options", "ssm_size=256", "norm=False",
    "eigenvalue_constraint=none", "--no-bootstrap-truncation",
)


def paper_config(**overrides) -> ICRLConfig:
    """The paper's preset; `overrides` replace any field (e.g. memory="gru", memory_layers=1)."""
    paper = {"num_envs": 64, "num_steps": 1024, "update_epochs": 30, "num_minibatches": 8, "lr": 5e-5,
             "gae_lambda": 1.0, "ent_coef": 0.0, "vf_coef": 1.0, "hidden": (128, 128), "encoder": (128, 256),
             "memory_size": 256, "memory_layers": 4, "bootstrap_truncation": False,
             "memory_options": ("ssm_size=256", "norm=False", "eigenvalue_constraint=none")}
    if overrides.get("memory", "s5") != "s5":
        paper["memory_options"] = ()  # S5's options; other memories take their width from memory_size
    return dataclasses.replace(ICRLConfig(), **{**paper, **overrides})
