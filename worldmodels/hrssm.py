"""HRSSM: a decoder-free RSSM that learns its state from masked frames, an EMA "raw" branch, latent
reconstruction and a bisimulation loss (Sun et al. 2024, "Learning Latent Dynamic Robust Representations for
World Models", ICML), on the core of DreamerV3 (Hafner et al. 2023).

Two branches share one recurrent core design:
- online (parameters theta, trained): sees the frames under a cube mask (worldmodels/masking.py),
  e_t = Enc(o_t * (1 - m_t)), and runs the RSSM over the sequence: h_t, posterior z_t, prior z^_t;
- raw (parameters xi = an EMA of theta's encoder, core and projection; never trained by gradient): sees the
  clean frames. Its posterior z-_t ~ q_xi(. | h_t, Enc_xi(o_t)) is conditioned on the ONLINE h_t, and its GRU is
  used only for the raw next prior, h-_{t+1} = GRU_xi(h_t, z-_t, a_t), z^-_{t+1} ~ p_xi(. | h-_{t+1}). So the
  raw branch is a one-step look at the clean frame from the online state, not a second recurrent model.

Loss, averaged over the batch `[T, B]`, with f = [z, h] features and nu(v) = v / max(|v|, 1e-3):
- prediction: symlog two-hot reward and Bernoulli continue from f_t, plus the balanced KL (as Dreamer);
- latent reconstruction: |nu(W_theta f_t) - nu(W_xi f-_t)|^2, W a bias-free projection to `proj_dim` (the
  masked online view must predict the clean view's projection);
- bisimulation (SimSR, Zang et al. 2022), over the N = B (T - 1) steps t <= T - 2:
  D_ij = 1 - <nu(f_i), nu(f-_j)>, Y_ij = s |r_i - r_j| + gamma_b (1 - <nu(f^_{i+1}), nu(f^-_{j+1})>),
  Huber(D, sg(Y)). r_i is the reward stored at the state's own index (received on arriving at o_t), paired with
  the state t and the priors of t + 1, as the authors' code pairs them. Pairs whose next step starts a new
  episode are left out: their "next state" belongs to another episode.
After the Adam step on theta, xi <- xi + tau (theta - xi).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from core.sequences import DreamerSequence
from core.validation import flag, non_negative_number, number_in, positive, positive_number, unit_interval
from worldmodels import training
from worldmodels.config import WorldModelConfig
from worldmodels.distributions import unit_norm
from worldmodels.masking import cube_mask
from worldmodels.networks import Encoder, scale_images
from worldmodels.rssm import RSSM, Latent, Policy, features
from worldmodels.training import WorldModelState

RAW_BRANCH = ("encoder", "rssm", "proj")  # the parameters the EMA branch copies


@dataclass(frozen=True)
class HRSSMConfig(WorldModelConfig):
    """HRSSM's additions to the world-model config."""

    CPU_EXTRA: ClassVar[dict] = {"patch": 8}

    mask_ratio: Annotated[float, unit_interval] = 0.5
    """Share of the patches hidden in each block of frames."""
    patch: Annotated[int, positive] = 8
    """Side of a square mask patch in pixels; must divide the image side (8 px: an 8x8 grid at 64 px)."""
    block: Annotated[int, positive] = 4
    """Consecutive frames that share one mask; must divide the sequence length."""
    mask_per_sequence: Annotated[bool, flag] = True
    """Draw each sequence's masks independently; --no-mask-per-sequence shares one mask across the batch."""
    proj_dim: Annotated[int, positive] = 32
    """Output width of the latent-reconstruction projection W."""
    lr_weight: Annotated[float, non_negative_number] = 1.0
    """Weight of the latent-reconstruction loss."""
    bisim_weight: Annotated[float, non_negative_number] = 1.0
    """Weight of the bisimulation loss."""
    bisim_gamma: Annotated[float, unit_interval] = 0.99
    """Discount of the next-state distance in the bisimulation target."""
    bisim_reward_scale: Annotated[float, positive_number] = 1.0
    """Rewards are multiplied by this in the bisimulation target; SimSR assumes they span about [0, 2]."""
    ema_tau: Annotated[float, number_in(0, 1, open_low=True)] = 0.05
    """Rate of the raw branch's EMA: xi <- xi + tau (theta - xi) after every update."""


class Projection(nn.Module):
    width: int

    @nn.compact
    def __call__(self, feats):
        return nn.Dense(self.width, use_bias=False)(feats)


def ema_update(ema: dict, params: dict, tau: float) -> dict:
    """xi <- xi + tau (theta - xi) for the parameters the raw branch holds."""
    return {name: jax.tree.map(lambda xi, theta: xi + tau * (theta - xi), ema[name], params[name]) for name in ema}


def bisimulation_target(reward: jax.Array, next_online: jax.Array, next_raw: jax.Array, gamma: float,
                        reward_scale: float) -> jax.Array:
    """Y `[N, N]` for the N = (T - 1) B states t <= T - 2 (flattened time-major).

    reward `[T, B]` as stored (r_t received on arriving at o_t); state t is paired with r_t, its own index.
    next_online, next_raw `[T - 1, B, F]`: the online and raw prior features of step t + 1.
    """
    r = reward_scale * reward[:-1].reshape(-1)
    online, raw = unit_norm(_flat(next_online)), unit_norm(_flat(next_raw))
    return jnp.abs(r[:, None] - r[None, :]) + gamma * (1.0 - online @ raw.T)


def bisimulation_loss(online: jax.Array, raw: jax.Array, target: jax.Array, valid: jax.Array) -> jax.Array:
    """Huber(D, sg(Y)) averaged over the pairs of valid steps; online, raw `[T - 1, B, F]`, valid `[T - 1, B]`."""
    distance = 1.0 - unit_norm(_flat(online)) @ unit_norm(_flat(raw)).T
    pair = optax.huber_loss(distance, jax.lax.stop_gradient(target), delta=1.0)
    weight = (valid.reshape(-1)[:, None] & valid.reshape(-1)[None, :]).astype(pair.dtype)
    return jnp.sum(pair * weight) / jnp.maximum(jnp.sum(weight), 1.0)


def _flat(x: jax.Array) -> jax.Array:
    return x.reshape((-1, x.shape[-1]))


class HRSSM:
    """`init`, `observe`, `raw_branch`, `imagine`, `loss`, `step` as pure functions; `update(state, batch, key)`
    is one jitted call (mask, both branches, Adam step, EMA step)."""

    def __init__(self, config: HRSSMConfig, action_dim: int):
        if config.image_size % config.patch:
            raise ValueError(f"--patch {config.patch} does not divide the image side {config.image_size}")
        if config.sequence_length % config.block:
            raise ValueError(f"--block {config.block} does not divide the sequence length {config.sequence_length}")
        self.config = config
        self.rssm = RSSM(config, action_dim)
        self.encoder = Encoder(config.depth)
        self.proj = Projection(config.proj_dim)
        self.reward = training.reward_head(config)
        self.cont = training.continue_head(config)
        self.tx = training.optimizer(config)
        self.update = jax.jit(lambda state, batch, key: self.step(state, batch, key)[:2])

    def init(self, key: jax.Array) -> WorldModelState:
        c = self.config
        keys = jax.random.split(key, 5)
        feats = jnp.zeros((1, self.rssm.feature_dim))
        params = {"encoder": self.encoder.init(keys[0], jnp.zeros((1, c.image_size, c.image_size, 3))),
                  "rssm": self.rssm.init(keys[1], training.embed_dim(self.encoder, c.image_size)),
                  "proj": self.proj.init(keys[2], feats),
                  "reward": self.reward.init(keys[3], feats),
                  "cont": self.cont.init(keys[4], feats)}
        ema = {name: params[name] for name in RAW_BRANCH}
        return WorldModelState(params, self.tx.init(params), ema, jnp.zeros((), jnp.int32))

    def mask(self, key: jax.Array, length: int, batch: int) -> jax.Array:
        c = self.config
        return cube_mask(key, length, batch, c.image_size, c.patch, c.mask_ratio, c.block, c.mask_per_sequence)

    def observe(self, params: dict, batch: DreamerSequence, key: jax.Array,
                mask: jax.Array | None = None) -> tuple[Latent, Latent]:
        """Online posteriors and priors `[T, B]`; images hidden where `mask` `[T, B, H, W]` is 1 (no mask when
        acting: the online branch then sees clean frames)."""
        images = scale_images(batch.image)
        if mask is not None:
            images = images * (1.0 - mask[..., None])  # a hidden pixel becomes 0, mid-grey
        embeds = training.encode(self.encoder, params["encoder"], images)
        return self.rssm.observe(params["rssm"], embeds, batch.action, batch.first, key)

    def raw_branch(self, ema: dict, deter: jax.Array, batch: DreamerSequence,
                   key: jax.Array) -> tuple[Latent, Latent]:
        """The raw posteriors `[T, B]` on the ONLINE deterministic states `deter` `[T, B, D]` and clean frames,
        and the raw next priors `[T - 1, B]` (entry t is step t + 1's, reached with the action a_t stored at
        t + 1); no gradient flows through any of it."""
        ema, deter = jax.lax.stop_gradient((ema, deter))
        post_key, prior_key = jax.random.split(key)
        embeds = training.encode(self.encoder, ema["encoder"], batch.image)
        posts = self.rssm.posterior(ema["rssm"], deter, embeds, post_key)
        now = jax.tree.map(lambda x: x[:-1], posts)
        next_priors = self.rssm.prior_step(ema["rssm"], now, batch.action[1:].astype(jnp.float32), prior_key)
        return jax.lax.stop_gradient((posts, next_priors))

    def imagine(self, params: dict, start: Latent, policy: Policy, key: jax.Array,
                horizon: int) -> tuple[Latent, jax.Array]:
        """The online prior rolled from `start`: states `[H, N]` and actions `[H, N, A]` (see `RSSM.imagine`)."""
        return self.rssm.imagine(params["rssm"], start, policy, key, horizon)

    def loss(self, params: dict, ema: dict, batch: DreamerSequence,
             key: jax.Array) -> tuple[jax.Array, tuple[dict, Latent]]:
        """(scalar loss, (metrics, raw posteriors `[T, B]`, the imagination starts)); `ema` gets no gradient."""
        c = self.config
        ema = jax.lax.stop_gradient(ema)  # xi follows theta by the EMA alone, never by gradient
        mask_key, online_key, raw_key = jax.random.split(key, 3)
        length, batch_size = batch.first.shape
        posts, priors = self.observe(params, batch, online_key, self.mask(mask_key, length, batch_size))
        raw_posts, raw_next = self.raw_branch(ema, posts.deter, batch, raw_key)
        feats, raw_feats = features(posts), features(raw_posts)

        pred, metrics = training.prediction_losses(self.reward, self.cont, params, feats, batch)
        kl, kl_metrics = self.rssm.kl_loss(posts, priors)
        online_proj = unit_norm(self.proj.apply(params["proj"], feats))
        raw_proj = unit_norm(self.proj.apply(ema["proj"], raw_feats))
        latent_rec = jnp.mean(jnp.sum((online_proj - raw_proj) ** 2, axis=-1))
        target = bisimulation_target(batch.reward, features(priors)[1:], features(raw_next), c.bisim_gamma,
                                     c.bisim_reward_scale)
        bisim = bisimulation_loss(feats[:-1], raw_feats[:-1], target, ~batch.first[1:])

        loss = jnp.mean(pred + kl) + c.lr_weight * latent_rec + c.bisim_weight * bisim
        scaled = c.bisim_reward_scale * batch.reward
        metrics = {**metrics, **kl_metrics, "latent_rec_loss": latent_rec, "bisim_loss": bisim, "loss": loss,
                   "bisim_reward_min": jnp.min(scaled), "bisim_reward_max": jnp.max(scaled)}
        return loss, (metrics, raw_posts)

    def step(self, state: WorldModelState, batch: DreamerSequence,
             key: jax.Array) -> tuple[WorldModelState, dict, Latent]:
        """One Adam step on theta, then the EMA step on xi; also returns the raw posteriors `[T, B]`, the
        imagination starts HRSSM's actor trains from. `update` is this, jitted, less the starts."""
        grads, (metrics, raw_posts) = jax.grad(self.loss, has_aux=True)(state.params, state.ema, batch, key)
        state = training.apply_gradients(self.tx, state, grads)
        return state.replace(ema=ema_update(state.ema, state.params, self.config.ema_tau)), metrics, raw_posts
