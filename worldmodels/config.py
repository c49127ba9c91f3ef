"""The hyperparameters both world models share, and the CPU preset that shrinks them for a 2-core machine.

Defaults follow DreamerV3 (Hafner et al. 2023) as used by the HRSSM authors (Sun et al. 2024) at 64x64 pixels;
`cpu_preset` gives 32x32 images, a 128-wide state and an 8x32 batch, which one CPU core updates several times a
second.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated

from core.validation import integer_at_least, non_negative_number, positive, positive_number, unit_interval


@dataclass(frozen=True)
class WorldModelConfig:
    """Sizes and optimiser of a recurrent state-space world model."""

    image_size: Annotated[int, integer_at_least(8, "at least 8")] = 64
    """Side of the square RGB observations, 4 times a power of two."""
    depth: Annotated[int, positive] = 32
    """Channels of the encoder's first convolution (doubled at each halving)."""
    deter: Annotated[int, positive] = 512
    """Width of the deterministic (GRU) state h."""
    stoch: Annotated[int, positive] = 32
    """Categorical variables in the stochastic state z."""
    classes: Annotated[int, positive] = 32
    """Classes per categorical variable."""
    units: Annotated[int, positive] = 512
    """Width of the hidden layers of the recurrent core and of the heads."""
    head_layers: Annotated[int, positive] = 2
    """Hidden layers of the reward and continue heads."""
    unimix: Annotated[float, unit_interval] = 0.01
    """Share of the uniform distribution mixed into every categorical."""
    kl_dyn: Annotated[float, non_negative_number] = 0.5
    """Weight of the dynamics KL (trains the prior towards the posterior)."""
    kl_rep: Annotated[float, non_negative_number] = 0.1
    """Weight of the representation KL (trains the posterior towards the prior)."""
    free_nats: Annotated[float, non_negative_number] = 1.0
    """Each KL term is clipped from below at this many nats, per step, before averaging."""
    lr: Annotated[float, positive_number] = 1e-4
    """Adam learning rate."""
    eps: Annotated[float, positive_number] = 1e-8
    """Adam epsilon."""
    grad_clip: Annotated[float, positive_number] = 1000.0
    """Global gradient-norm clip."""
    batch_size: Annotated[int, positive] = 16
    """Sequences per update (B)."""
    sequence_length: Annotated[int, positive] = 64
    """Steps per sequence (T)."""


CPU_PRESET = dict(image_size=32, depth=16, deter=128, stoch=8, classes=8, units=128, batch_size=8,
                  sequence_length=32)


def cpu_preset(config_cls: type = WorldModelConfig, **overrides):
    """`config_cls` at the CPU sizes (32x32 px, depth 16, deter 128, 8x8 latent, units 128, B x T 8 x 32); HRSSM's
    config adds its own CPU fields (an 8-px patch, a 4x4 grid)."""
    fields = {f.name for f in dataclasses.fields(config_cls)}
    preset = {**CPU_PRESET, **getattr(config_cls, "CPU_EXTRA", {}), **overrides}
    return config_cls(**{k: v for k, v in preset.items() if k in fields})
