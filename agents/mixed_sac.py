"""SAC on symmetric offline/online minibatches: every batch half from the dataset, half from the online replay.

The hybrid baseline of Ball et al. 2023 ("Efficient Online Reinforcement Learning with Offline Data", RLPD)
without its ensembles, LayerNorm and high update-to-data ratio: what MOORL is compared against at the same
update-to-data ratio of 1. Until the online replay holds `warmup_on` rows (and at least its half-batch), batches
are all offline, so the empty replay is never sampled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import jax
import jax.numpy as jnp

from agents.sac import SAC, SACConfig, SACState
from core import replay
from core.protocols import DATASET, Buffers
from core.transitions import Transition
from core.validation import ConfigError, non_negative, number_in
from envs.protocol import EnvSpec


@dataclass(frozen=True)
class MixedSACConfig(SACConfig):
    """SAC's hyperparameters, plus the offline share of each batch. --dataset is the offline data."""

    offline_fraction: Annotated[float, number_in(0, 1, open_low=True)] = 0.5
    """Share of each minibatch drawn from the offline dataset once the online replay is warm."""
    warmup_on: Annotated[int, non_negative] = 2000
    """Online transitions before batches mix in online rows (all offline until then)."""
    learning_starts: Annotated[int, non_negative] = 0
    """Env steps of uniform random actions before the first update (the offline data allows updates at once)."""


class MixedSAC(SAC):
    uses_static_data = True

    def __init__(self, config: MixedSACConfig, spec: EnvSpec):
        super().__init__(config, spec)
        self.offline_rows = round(config.batch_size * config.offline_fraction)
        self.online_rows = config.batch_size - self.offline_rows
        if self.online_rows < 1 and config.offline_fraction < 1:
            raise ConfigError(f"--batch-size {config.batch_size} x --offline-fraction {config.offline_fraction} "
                              f"leaves no online row")

    def can_update(self, buffers: Buffers) -> jax.Array:
        return replay.can_sample(buffers.static[DATASET])

    def sample_batch(self, buffers: Buffers, state: SACState, key: jax.Array) -> Transition:
        offline, online = buffers.static[DATASET], buffers.online
        warm = online.size >= max(self.config.warmup_on, self.online_rows)
        mixed_key, offline_key = jax.random.split(key)

        def mixed():
            a, b = jax.random.split(mixed_key)
            halves = (replay.sample(offline, a, self.offline_rows).without_extras(),
                      replay.sample(online, b, self.online_rows).without_extras())
            return jax.tree.map(lambda x, y: jnp.concatenate([x, y]), *halves)

        all_offline = lambda: replay.sample(offline, offline_key, self.config.batch_size).without_extras()
        return jax.lax.cond(warm, mixed, all_offline)
