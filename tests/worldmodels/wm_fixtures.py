"""Shared by the world-model tests: tiny configs and a fixed batch."""

import jax
import jax.numpy as jnp

from core.sequences import DreamerSequence
from worldmodels.config import WorldModelConfig
from worldmodels.hrssm import HRSSMConfig

TINY = dict(image_size=16, depth=4, deter=16, stoch=4, classes=4, units=16, head_layers=1, batch_size=2,
            sequence_length=8, lr=1e-3)
ACTIONS = 2


def tiny_config() -> WorldModelConfig:
    return WorldModelConfig(**TINY)


def tiny_hrssm_config(**overrides) -> HRSSMConfig:
    return HRSSMConfig(**{**TINY, "patch": 4, "block": 4, **overrides})


def fixed_batch(seed: int = 0, length: int = 8, batch: int = 2, size: int = 16) -> DreamerSequence:
    """Random frames, actions and rewards in [0, 1]; episodes start at step 0 and, in sequence 0, at step 5."""
    image_key, action_key, reward_key = jax.random.split(jax.random.PRNGKey(seed), 3)
    first = jnp.zeros((length, batch), bool).at[0].set(True).at[5, 0].set(True)
    action = jax.random.uniform(action_key, (length, batch, ACTIONS), minval=-1.0) * ~first[..., None]
    reward = jax.random.uniform(reward_key, (length, batch)) * ~first
    cont = jnp.ones((length, batch)).at[4, 0].set(0.0)  # sequence 0's first episode terminates at step 4
    image = jax.random.randint(image_key, (length, batch, size, size, 3), 0, 256).astype(jnp.uint8)
    return DreamerSequence(image, action, reward, cont, first)
