"""A fitted neural hybrid automaton as one pytree, so `simulate` and planners can jit and vmap over it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from worldmodels.nha.events import EventConfig
from worldmodels.nha.modes import ModeConfig
from worldmodels.nha.pruning import assign
from worldmodels.nha.segments import Normaliser


@struct.dataclass
class NHAModel:
    encoder: dict
    flows: dict
    events: dict  # {"sojourn": ..., "jumps": ...}
    stats: dict  # transition table, counts and log-time standardisation (events.transition_stats)
    normaliser: Normaliser
    active: jax.Array  # [m] modes kept by pruning
    merge_to: jax.Array  # [m] the mode each one is merged into
    flow_mask: jax.Array  # [n] the coordinates the fields read
    mode_config: ModeConfig = struct.field(pytree_node=False)
    event_config: EventConfig = struct.field(pytree_node=False)

    @property
    def modes(self) -> int:
        return self.mode_config.modes

    def label(self, logits):
        return assign(logits, self.active, self.merge_to)

    def encode_window(self, window: jax.Array) -> jax.Array:
        """The mode of a segment from its first samples `window [K_e, n]` (raw units)."""
        inputs = self.normaliser(window).reshape(1, -1)
        logits = self.mode_config.encoder().apply({"params": self.encoder}, jnp.asarray(inputs))
        return self.label(logits)[0]
