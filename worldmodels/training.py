"""What both world models share around the RSSM: the training state, the optimiser, image encoding over
time-major sequences, and the reward and continue losses.

A batch is a `core.sequences.DreamerSequence`, time-major `[T, B]`: the image o_t, the action that led to it,
the reward received on arriving at it, the continue flag and the episode-start flag.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from core.sequences import DreamerSequence
from worldmodels.config import WorldModelConfig
from worldmodels.distributions import REWARD_BINS, bernoulli_nll, symlog_two_hot_mean, symlog_two_hot_nll
from worldmodels.networks import Encoder, Head, scale_images


@struct.dataclass
class WorldModelState:
    params: dict  # trained by the optimiser
    opt_state: optax.OptState
    ema: dict | None  # HRSSM's slow raw-branch copy of some of `params`; None for the decoder RSSM
    updates: jax.Array


def optimizer(config: WorldModelConfig) -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(config.grad_clip), optax.adam(config.lr, eps=config.eps))


def encode(encoder: Encoder, params: dict, images: jax.Array) -> jax.Array:
    """uint8 (or already scaled float) images `[T, B, H, W, 3]` -> embeddings `[T, B, E]`, as one batch."""
    images = scale_images(images)
    lead = images.shape[:2]
    return encoder.apply(params, images.reshape((-1, *images.shape[2:]))).reshape((*lead, -1))


def embed_dim(encoder: Encoder, size: int) -> int:
    out = jax.eval_shape(lambda x: encoder.init_with_output(jax.random.key(0), x)[0],
                         jax.ShapeDtypeStruct((1, size, size, 3), jnp.float32))
    return int(out.shape[-1])


def reward_head(config: WorldModelConfig) -> Head:
    return Head(config.units, config.head_layers, REWARD_BINS, zero_output=True)


def continue_head(config: WorldModelConfig) -> Head:
    return Head(config.units, config.head_layers, 1)


def prediction_losses(reward: Head, cont: Head, params: dict, feats: jax.Array,
                      batch: DreamerSequence) -> tuple[jax.Array, dict]:
    """-ln p(r_t | f_t) - ln p(c_t | f_t) per step `[T, B]`: symlog two-hot reward, Bernoulli continue."""
    reward_logits = reward.apply(params["reward"], feats)
    cont_logits = cont.apply(params["cont"], feats)[..., 0]
    reward_nll = symlog_two_hot_nll(reward_logits, batch.reward)
    cont_nll = bernoulli_nll(cont_logits, batch.cont.astype(jnp.float32))
    metrics = {"reward_loss": jnp.mean(reward_nll), "cont_loss": jnp.mean(cont_nll),
               "reward_error": jnp.mean(jnp.abs(symlog_two_hot_mean(reward_logits) - batch.reward))}
    return reward_nll + cont_nll, metrics


def apply_gradients(tx: optax.GradientTransformation, state: WorldModelState, grads: dict) -> WorldModelState:
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    return state.replace(params=optax.apply_updates(state.params, updates), opt_state=opt_state,
                         updates=state.updates + 1)
