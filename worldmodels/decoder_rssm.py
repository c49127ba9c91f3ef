"""The Dreamer world model: the RSSM learns its state by reconstructing pixels (DreamerV3, Hafner et al. 2023).

Per step, with f_t = [z_t, h_t] from the posterior of o_t:
    L = ||dec(f_t) - o_t||^2 (summed over pixels) - ln p(r_t | f_t) - ln p(c_t | f_t) + balanced KL,
averaged over the batch `[T, B]`, then one Adam step. It is the baseline that HRSSM (worldmodels/hrssm.py)
changes: same core, encoder and heads, no decoder.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from core.sequences import DreamerSequence
from worldmodels import training
from worldmodels.config import WorldModelConfig
from worldmodels.networks import Decoder, Encoder, scale_images
from worldmodels.rssm import RSSM, Latent, Policy, features
from worldmodels.training import WorldModelState


class DecoderRSSM:
    """`init`, `observe`, `imagine`, `loss`, `step` as pure functions; `update(state, batch, key)` is one jitted
    call."""

    def __init__(self, config: WorldModelConfig, action_dim: int):
        self.config = config
        self.rssm = RSSM(config, action_dim)
        self.encoder = Encoder(config.depth)
        self.decoder = Decoder(config.depth, config.image_size)
        self.reward = training.reward_head(config)
        self.cont = training.continue_head(config)
        self.tx = training.optimizer(config)
        self.update = jax.jit(lambda state, batch, key: self.step(state, batch, key)[:2])

    def init(self, key: jax.Array) -> WorldModelState:
        c = self.config
        keys = jax.random.split(key, 5)
        image = jnp.zeros((1, c.image_size, c.image_size, 3))
        feats = jnp.zeros((1, self.rssm.feature_dim))
        params = {"encoder": self.encoder.init(keys[0], image),
                  "rssm": self.rssm.init(keys[1], training.embed_dim(self.encoder, c.image_size)),
                  "decoder": self.decoder.init(keys[2], feats),
                  "reward": self.reward.init(keys[3], feats),
                  "cont": self.cont.init(keys[4], feats)}
        return WorldModelState(params, self.tx.init(params), None, jnp.zeros((), jnp.int32))

    def observe(self, params: dict, batch: DreamerSequence, key: jax.Array) -> tuple[Latent, Latent]:
        """Posteriors and priors `[T, B]` of the batch's images."""
        embeds = training.encode(self.encoder, params["encoder"], batch.image)
        return self.rssm.observe(params["rssm"], embeds, batch.action, batch.first, key)

    def imagine(self, params: dict, start: Latent, policy: Policy, key: jax.Array,
                horizon: int) -> tuple[Latent, jax.Array]:
        """`RSSM.imagine` with this model's core: states `[H, N]` and actions `[H, N, A]`."""
        return self.rssm.imagine(params["rssm"], start, policy, key, horizon)

    def loss(self, params: dict, batch: DreamerSequence, key: jax.Array) -> tuple[jax.Array, tuple[dict, Latent]]:
        """(scalar loss, (metrics, posteriors `[T, B]`))."""
        posts, priors = self.observe(params, batch, key)
        feats = features(posts)
        decoded = self.decoder.apply(params["decoder"], feats.reshape((-1, feats.shape[-1])))
        target = scale_images(batch.image).reshape(decoded.shape)
        image_loss = jnp.sum((decoded - target) ** 2, axis=(1, 2, 3)).reshape(batch.reward.shape)
        pred, metrics = training.prediction_losses(self.reward, self.cont, params, feats, batch)
        kl, kl_metrics = self.rssm.kl_loss(posts, priors)
        loss = jnp.mean(image_loss + pred + kl)
        return loss, ({**metrics, **kl_metrics, "image_loss": jnp.mean(image_loss), "loss": loss}, posts)

    def step(self, state: WorldModelState, batch: DreamerSequence,
             key: jax.Array) -> tuple[WorldModelState, dict, Latent]:
        """One Adam step; also returns the posteriors `[T, B]` (no gradient) as imagination starts, for an agent
        that jits the world model and its behaviour learning together. `update` is this, jitted, less the starts."""
        grads, (metrics, posts) = jax.grad(self.loss, has_aux=True)(state.params, batch, key)
        return training.apply_gradients(self.tx, state, grads), metrics, jax.lax.stop_gradient(posts)
