"""Dreamer: an actor-critic trained in the imagination of a world model (DreamerV3, Hafner et al. 2023), on the
decoder RSSM (`--world-model rssm`) or on HRSSM (`--world-model hrssm`, Sun et al. 2024), for pixel observations
(uint8 `[S, S, 3]`) and continuous actions.

One `update`, on a batch of B sequences of T steps drawn from the off-policy loop's replay:
1. the world model's step (worldmodels/), which also returns the imagination starts without gradient: the B T
   posteriors (Dreamer) or raw-branch posteriors (HRSSM);
2. imagination: H steps of the online prior from every start, actions from the actor (its input under
   stop_gradient; the gradient reaches it through the actions, dynamics backpropagation, with the world
   model's parameters fixed); rewards and continues from the world model's heads;
3. lambda-returns R_k = r_{k+1} + gamma c_{k+1} ((1 - lambda) v(s_{k+1}) + lambda R_{k+1}), R_H = v(s_H), with
   v the critic's mean; step weights w_k = c_0 prod_{j=1..k} gamma c_j (c_0 the start's real continue flag);
4. return normalisation: S, an EMA of the 5th-95th percentile range of R; the actor descends
   -mean_k w_k ((R_k - v_k) / max(1, S) + eta H[pi(. | s_k)]);
5. the critic, a symlog two-hot distribution over 255 bins, descends w_k (-ln p(R_k) - ln p(v_slow(s_k))): the
   returns and a slow critic (an EMA of the critic's parameters, fraction 0.02 every update) as a regulariser;
6. the slow critic's EMA step.
All of it is one pure function, scanned under the loop's jit.

Acting runs the training scan's own step (`RSSM.observe_step`) one frame at a time: the carry holds the
posterior of the last frame and the action taken after it (the loop reports warm-up random actions through
`carry_with_action`), both reset where `first`. With `--act-from raw` (HRSSM) the actor reads the raw-branch
posterior of the frame on the online h_t (EMA encoder and posterior head), the kind of state it is trained on;
by default it reads the online posterior, as the HRSSM authors' agent does. See docs/dreamer.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated, Any, Literal

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from core import replay, sequences
from core.protocols import Buffers, OffPolicyAgent
from core.sequences import DreamerSequence
from core.validation import (
    ConfigError,
    non_negative,
    non_negative_number,
    number_in,
    one_of,
    optional,
    positive,
    positive_number,
    unit_interval,
)
from envs.protocol import EnvSpec
from envs.spaces import Box
from worldmodels import training
from worldmodels.config import CPU_PRESET, WorldModelConfig
from worldmodels.decoder_rssm import DecoderRSSM
from worldmodels.distributions import symlog_two_hot_mean, symlog_two_hot_nll
from worldmodels.hrssm import HRSSM, HRSSMConfig
from worldmodels.networks import DenseNorm, Head, conv_stages
from worldmodels.rssm import Latent, features
from worldmodels.training import WorldModelState

# The world-model sizes and the train ratio (replayed steps per env step) of each preset: `cpu` is ours, for a
# 2-core machine; `paper` the HRSSM authors' DreamerV3 sizes.
PRESETS = {
    "cpu": {**CPU_PRESET, "patch": 8, "train_ratio": 64},
    "paper": {"depth": 32, "deter": 512, "stoch": 32, "classes": 32, "units": 512, "batch_size": 16,
              "sequence_length": 64, "patch": 8, "train_ratio": 512},
}
SIZE_FIELDS = ("depth", "deter", "stoch", "classes", "units", "batch_size", "sequence_length", "patch")


@dataclass(frozen=True)
class DreamerConfig:
    """Dreamer's world model, actor-critic and replay schedule. Sizes left out come from --preset."""

    world_model: Annotated[Literal["rssm", "hrssm"], one_of("rssm", "hrssm")] = "hrssm"
    """hrssm: HRSSM (masked online branch, EMA raw branch, no decoder); rssm: Dreamer's RSSM with a pixel decoder."""
    act_from: Annotated[Literal["online", "raw"], one_of("online", "raw")] = "online"
    """The state the actor reads when acting: online (the online posterior of the clean frame) or raw (HRSSM's
    EMA posterior on the online h_t, the kind of state imagination starts from)."""
    preset: Annotated[Literal["cpu", "paper"], one_of("cpu", "paper")] = "cpu"
    """Sizes: cpu (depth 16, deter 128, 8x8 latent, units 128, B x T 8 x 32, train ratio 64) or paper (depth 32,
    deter 512, 32x32 latent, units 512, B x T 16 x 64, train ratio 512)."""
    depth: Annotated[int | None, optional(positive)] = None
    """Channels of the encoder's first convolution; default: the preset's."""
    deter: Annotated[int | None, optional(positive)] = None
    """Width of the deterministic state h; default: the preset's."""
    stoch: Annotated[int | None, optional(positive)] = None
    """Categorical variables in the stochastic state z; default: the preset's."""
    classes: Annotated[int | None, optional(positive)] = None
    """Classes per categorical variable; default: the preset's."""
    units: Annotated[int | None, optional(positive)] = None
    """Width of the hidden layers of the core, the heads, the actor and the critic; default: the preset's."""
    batch_size: Annotated[int | None, optional(positive)] = None
    """B: sequences per update; default: the preset's."""
    sequence_length: Annotated[int | None, optional(positive)] = None
    """T: steps per sequence; default: the preset's."""
    patch: Annotated[int | None, optional(positive)] = None
    """HRSSM's mask patch side in pixels (must divide the image side); default: the preset's (8)."""
    mask_ratio: Annotated[float, unit_interval] = 0.5
    """HRSSM: share of the patches hidden in each block of frames."""
    block: Annotated[int, positive] = 4
    """HRSSM: frames that share one mask; must divide the sequence length."""
    ema_tau: Annotated[float, number_in(0, 1, open_low=True)] = 0.05
    """HRSSM: rate of the raw branch's EMA of the online encoder, core and projection."""
    horizon: Annotated[int, positive] = 15
    """H: imagined steps from each start."""
    gamma: Annotated[float, unit_interval] = 0.997
    """Discount of the imagined returns."""
    lam: Annotated[float, unit_interval] = 0.95
    """lambda of the lambda-returns."""
    actor_lr: Annotated[float, positive_number] = 3e-5
    """Adam learning rate of the actor."""
    critic_lr: Annotated[float, positive_number] = 3e-5
    """Adam learning rate of the critic."""
    ac_eps: Annotated[float, positive_number] = 1e-5
    """Adam epsilon of the actor and the critic."""
    ac_grad_clip: Annotated[float, positive_number] = 100.0
    """Global gradient-norm clip of the actor and of the critic."""
    entropy: Annotated[float, non_negative_number] = 3e-4
    """eta: weight of the actor's entropy bonus."""
    min_std: Annotated[float, positive_number] = 0.1
    """Lower bound of the actor's standard deviation."""
    max_std: Annotated[float, positive_number] = 1.0
    """Upper bound of the actor's standard deviation."""
    ac_layers: Annotated[int, positive] = 2
    """Hidden layers of the actor and of the critic."""
    slow_critic_fraction: Annotated[float, unit_interval] = 0.02
    """Step of the slow critic's EMA towards the critic."""
    slow_critic_every: Annotated[int, positive] = 1
    """Updates between the slow critic's EMA steps."""
    slow_critic_weight: Annotated[float, non_negative_number] = 1.0
    """Weight of the critic's regulariser towards the slow critic's values."""
    return_decay: Annotated[float, unit_interval] = 0.99
    """Decay of the EMA of the returns' percentile range."""
    return_low: Annotated[float, number_in(0, 100)] = 5.0
    """Lower percentile of the return range."""
    return_high: Annotated[float, number_in(0, 100)] = 95.0
    """Upper percentile of the return range."""
    train_ratio: Annotated[float | None, optional(positive_number)] = None
    """Replayed steps per env step (updates per env step = train_ratio / (B x T)); default: the preset's."""
    buffer_size: Annotated[int, positive] = 100_000
    """Replay capacity in transitions (rounded up to a multiple of num_envs); each holds two frames."""
    learning_starts: Annotated[int, non_negative] = 2500
    """Env steps of uniform random actions before the first update."""
    num_envs: Annotated[int, positive] = 1
    """Parallel environments; each loop iteration does num_envs env steps."""
    updates_per_step: Annotated[float | None, optional(positive_number)] = None
    """Updates per env step; default: train_ratio / (B x T)."""
    train_every: Annotated[int | None, optional(positive)] = None
    """Loop iterations between bursts of updates; default: the fewest that make a burst whole."""


def world_model_config(config: DreamerConfig, image_size: int) -> WorldModelConfig:
    """The world model's config: the preset's sizes, the ones given on the command line, the env's image side."""
    sizes = {name: PRESETS[config.preset][name] if getattr(config, name) is None else getattr(config, name)
             for name in SIZE_FIELDS}
    if config.world_model == "rssm":
        del sizes["patch"]
        return WorldModelConfig(image_size=image_size, **sizes)
    return HRSSMConfig(image_size=image_size, mask_ratio=config.mask_ratio, block=config.block,
                       ema_tau=config.ema_tau, **sizes)


def resolved(config: DreamerConfig) -> DreamerConfig:
    """The update schedule in place of the None defaults: train_ratio / (B x T) updates per env step, bursts every
    train_every iterations, the fewest for which a burst is a whole number of updates."""
    preset = PRESETS[config.preset]
    steps = (config.batch_size or preset["batch_size"]) * (config.sequence_length or preset["sequence_length"])
    ratio = Fraction(config.train_ratio or preset["train_ratio"]).limit_denominator(10**6) / steps
    per_step = float(ratio) if config.updates_per_step is None else config.updates_per_step
    every = ratio.denominator // math.gcd(ratio.denominator, config.num_envs)
    return dataclasses.replace(config, updates_per_step=per_step,
                               train_every=every if config.train_every is None else config.train_every)


class Actor(nn.Module):
    """Features -> (mean in [-1, 1], std in [min_std, max_std]) of a diagonal Gaussian."""

    units: int
    layers: int
    action_dim: int
    min_std: float
    max_std: float

    @nn.compact
    def __call__(self, feats):
        x = feats
        for _ in range(self.layers):
            x = DenseNorm(self.units)(x)
        mean, std = jnp.split(nn.Dense(2 * self.action_dim)(x), 2, axis=-1)
        return jnp.tanh(mean), (self.max_std - self.min_std) * jax.nn.sigmoid(std + 2.0) + self.min_std


@struct.dataclass
class DreamerState:
    world: WorldModelState
    actor: dict
    critic: dict
    slow_critic: dict
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    return_scale: jax.Array  # S: the EMA of the returns' percentile range
    updates: jax.Array


@struct.dataclass
class ActingCarry:
    latent: Latent  # [N] the online posterior of the last frame
    action: jax.Array  # [N, A] the action taken after it
    policy_latent: Latent  # [N] the state the actor read: `latent`, or its raw-branch posterior (--act-from raw)


def check_image_spec(spec: EnvSpec) -> int:
    """The square image side of `spec`'s observations, or a one-line error for anything else."""
    space = spec.observation_space
    shape, dtype = tuple(space.shape), np.dtype(getattr(space, "dtype", np.float32))
    if len(shape) != 3 or shape[0] != shape[1] or shape[2] != 3 or dtype != np.uint8:
        raise ConfigError(f"--agent dreamer needs square RGB image observations (uint8 [S, S, 3], e.g. a pixels: "
                          f"env); {spec.name} has {dtype} observations of shape {shape}")
    try:
        conv_stages(shape[0])
    except ValueError as error:
        raise ConfigError(f"--agent dreamer on {spec.name}: {error}") from None
    return shape[0]


class Dreamer(OffPolicyAgent):
    """The world model and the actor-critic as pure functions; `update` is one call (scanned by the loop)."""

    def __init__(self, config: DreamerConfig, spec: EnvSpec):
        if not isinstance(spec.action_space, Box):
            raise ConfigError(f"--agent dreamer needs continuous (Box) actions; {spec.name} has a "
                              f"{type(spec.action_space).__name__} action space")
        if config.act_from == "raw" and config.world_model != "hrssm":
            raise ConfigError("--act-from raw needs --world-model hrssm (the raw branch is HRSSM's EMA encoder and "
                              "posterior)")
        if config.return_low >= config.return_high:
            raise ConfigError(f"--return-low {config.return_low:g} must be below --return-high "
                              f"{config.return_high:g}")
        if config.min_std > config.max_std:
            raise ConfigError(f"--min-std {config.min_std:g} must not exceed --max-std {config.max_std:g}")
        image_size = check_image_spec(spec)
        self.config = resolved(config)
        self.spec = spec
        self.action_dim = spec.action_space.shape[0]
        self.wm_config = world_model_config(config, image_size)
        try:
            self.model = (HRSSM if config.world_model == "hrssm" else DecoderRSSM)(self.wm_config, self.action_dim)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        self.rssm = self.model.rssm
        units = self.wm_config.units
        self.actor_net = Actor(units, config.ac_layers, self.action_dim, config.min_std, config.max_std)
        self.critic_net = Head(units, config.ac_layers, 255, zero_output=True)
        tx = lambda lr: optax.chain(optax.clip_by_global_norm(config.ac_grad_clip), optax.adam(lr, eps=config.ac_eps))
        self.actor_tx, self.critic_tx = tx(config.actor_lr), tx(config.critic_lr)
        self.jit_update = jax.jit(self.update)  # one call: world-model step and behaviour learning
        self._init = jax.jit(self._init_state)  # one program, not hundreds of eager initialiser ops

    @property
    def sequence_shape(self) -> tuple[int, int]:
        """(T, B) of a training batch."""
        return self.wm_config.sequence_length, self.wm_config.batch_size

    def init(self, key: jax.Array) -> DreamerState:
        return self._init(key)

    def _init_state(self, key: jax.Array) -> DreamerState:
        world_key, actor_key, critic_key = jax.random.split(key, 3)
        feats = jnp.zeros((1, self.rssm.feature_dim))
        actor = self.actor_net.init(actor_key, feats)
        critic = self.critic_net.init(critic_key, feats)
        zero = jnp.zeros((), jnp.float32)
        return DreamerState(self.model.init(world_key), actor, critic, jax.tree.map(jnp.copy, critic),
                            self.actor_tx.init(actor), self.critic_tx.init(critic), zero,
                            jnp.zeros((), jnp.int32))

    # --- the replay -----------------------------------------------------------------------------------------
    def replay_capacity(self, static) -> int:
        n = self.config.num_envs
        return -(-self.config.buffer_size // n) * n

    def can_update(self, buffers: Buffers) -> jax.Array:
        length = self.wm_config.sequence_length
        return replay.can_sample_windows(buffers.online, length, self.config.num_envs)

    def sample_batch(self, buffers: Buffers, state: DreamerState, key: jax.Array) -> DreamerSequence:
        length, batch = self.sequence_shape
        return sequences.sample_env_windows(buffers.online, key, batch, length, self.config.num_envs)

    # --- the policy -----------------------------------------------------------------------------------------
    def policy(self, actor: dict, feats: jax.Array, key: jax.Array, deterministic: bool = False) -> jax.Array:
        """Actions `[N, A]` in [-1, 1]: the mean, or a reparameterised sample scaled back into the box (the
        scale under stop_gradient, so the gradient passes as through the sample)."""
        mean, std = self.actor_net.apply(actor, feats)
        if deterministic:
            return mean
        sample = mean + std * jax.random.normal(key, mean.shape)
        return sample / jax.lax.stop_gradient(jnp.maximum(jnp.abs(sample), 1.0))

    def entropy_of(self, actor: dict, feats: jax.Array) -> jax.Array:
        """Entropy `[...]` of the actor's Gaussian (before it is scaled into the box)."""
        _, std = self.actor_net.apply(actor, feats)
        return jnp.sum(0.5 * jnp.log(2 * jnp.pi * jnp.e) + jnp.log(std), axis=-1)

    def initial_carry(self, num_envs: int) -> ActingCarry:
        """Placeholders: every env starts an episode (`first`), where `act_with_carry` takes the learned initial
        state instead."""
        c = self.wm_config
        latent = Latent(jnp.zeros((num_envs, c.deter)), jnp.zeros((num_envs, c.stoch, c.classes)),
                        jnp.zeros((num_envs, c.stoch, c.classes)))
        return ActingCarry(latent, jnp.zeros((num_envs, self.action_dim)), latent)

    def act_with_carry(self, state: DreamerState, carry: ActingCarry, obs: jax.Array, first: jax.Array,
                       key: jax.Array, deterministic: bool = False) -> tuple[ActingCarry, jax.Array, dict]:
        """The training scan's step on one frame per env (`obs` uint8 `[N, S, S, 3]`), then the actor; the
        latent step uses the first of `jax.random.split(key, 3)`."""
        latent_key, raw_key, action_key = jax.random.split(key, 3)
        params = state.world.params
        embed = training.encode(self.model.encoder, params["encoder"], obs[None])[0]
        post, _ = self.rssm.observe_step(params["rssm"], carry.latent, carry.action, embed, first, latent_key)
        policy_latent = post
        if self.config.act_from == "raw":
            ema = state.world.ema
            raw_embed = training.encode(self.model.encoder, ema["encoder"], obs[None])[0]
            policy_latent = self.rssm.posterior(ema["rssm"], post.deter, raw_embed, raw_key)
        action = self.policy(state.actor, features(policy_latent), action_key, deterministic)
        return ActingCarry(post, action, policy_latent), action, {}

    def carry_with_action(self, carry: ActingCarry, action: jax.Array) -> ActingCarry:
        return carry.replace(action=action.astype(jnp.float32))

    def act(self, state: DreamerState, obs: jax.Array, key: jax.Array, deterministic: bool = False) -> jax.Array:
        """Acting on single frames, each as the first of an episode."""
        first = jnp.ones(obs.shape[0], bool)
        return self.act_with_carry(state, self.initial_carry(obs.shape[0]), obs, first, key, deterministic)[1]

    # --- behaviour learning ---------------------------------------------------------------------------------
    def imagine(self, world_params: dict, actor: dict, start: Latent, key: jax.Array) -> tuple[jax.Array, Any]:
        """Features `[H + 1, N, F]` of the start and the H imagined states; the actor sees its inputs under
        stop_gradient, the world model's parameters are fixed."""
        policy = lambda feats, k: self.policy(actor, jax.lax.stop_gradient(feats), k)
        states, _ = self.model.imagine(jax.lax.stop_gradient(world_params), start, policy, key, self.config.horizon)
        trajectory = jax.tree.map(lambda s, x: jnp.concatenate([s[None], x]), start, states)
        return features(trajectory)

    def value(self, critic: dict, feats: jax.Array) -> jax.Array:
        return symlog_two_hot_mean(self.critic_net.apply(critic, feats))

    def actor_loss(self, actor: dict, state: DreamerState, world_params: dict, start: Latent, start_cont: jax.Array,
                   key: jax.Array):
        c = self.config
        feats = self.imagine(world_params, actor, start, key)
        params = jax.lax.stop_gradient(world_params)
        reward = symlog_two_hot_mean(self.model.reward.apply(params["reward"], feats[1:]))
        cont = jax.nn.sigmoid(self.model.cont.apply(params["cont"], feats[1:])[..., 0])
        value = self.value(jax.lax.stop_gradient(state.critic), feats)
        returns = lambda_returns(reward, cont, value, c.gamma, c.lam)
        weight = jax.lax.stop_gradient(jnp.cumprod(jnp.concatenate([start_cont[None], c.gamma * cont[:-1]]), axis=0))
        spread = jnp.percentile(jax.lax.stop_gradient(returns), jnp.array([c.return_low, c.return_high]))
        scale = c.return_decay * state.return_scale + (1.0 - c.return_decay) * (spread[1] - spread[0])
        advantage = (returns - jax.lax.stop_gradient(value[:-1])) / jnp.maximum(1.0, scale)
        entropy = self.entropy_of(actor, jax.lax.stop_gradient(feats[:-1]))
        loss = -jnp.mean(weight * (advantage + c.entropy * entropy))
        aux = {"feats": jax.lax.stop_gradient(feats[:-1]), "returns": jax.lax.stop_gradient(returns),
               "weight": weight, "scale": scale}
        metrics = {"actor_loss": loss, "return_mean": jnp.mean(returns), "return_scale": scale,
                   "actor_entropy": jnp.mean(entropy), "imagined_reward": jnp.mean(reward),
                   "value_mean": jnp.mean(value)}
        return loss, (aux, metrics)

    def critic_loss(self, critic: dict, state: DreamerState, feats: jax.Array, returns: jax.Array,
                    weight: jax.Array):
        logits = self.critic_net.apply(critic, feats)
        slow = self.value(state.slow_critic, feats)
        per_step = symlog_two_hot_nll(logits, returns) + self.config.slow_critic_weight * symlog_two_hot_nll(
            logits, slow)
        loss = jnp.mean(weight * per_step)
        return loss, {"critic_loss": loss}

    def behaviour_step(self, state: DreamerState, world_params: dict, starts: Latent, start_cont: jax.Array,
                       key: jax.Array) -> tuple[DreamerState, dict]:
        """Actor, critic and slow-critic steps from the starts `[T, B]` (flattened to N = T B)."""
        c = self.config
        start = jax.tree.map(lambda x: x.reshape((-1, *x.shape[2:])), starts)
        grads, (aux, actor_metrics) = jax.grad(self.actor_loss, has_aux=True)(
            state.actor, state, world_params, start, start_cont.reshape(-1), key)
        updates, actor_opt = self.actor_tx.update(grads, state.actor_opt, state.actor)
        actor = optax.apply_updates(state.actor, updates)
        grads, critic_metrics = jax.grad(self.critic_loss, has_aux=True)(state.critic, state, aux["feats"],
                                                                        aux["returns"], aux["weight"])
        updates, critic_opt = self.critic_tx.update(grads, state.critic_opt, state.critic)
        critic = optax.apply_updates(state.critic, updates)
        mix = jnp.where(state.updates % c.slow_critic_every == 0, c.slow_critic_fraction, 0.0)
        slow = jax.tree.map(lambda s, x: s + mix * (x - s), state.slow_critic, critic)
        state = state.replace(actor=actor, critic=critic, slow_critic=slow, actor_opt=actor_opt,
                              critic_opt=critic_opt, return_scale=aux["scale"])
        return state, {**actor_metrics, **critic_metrics}

    def update(self, state: DreamerState, batch: DreamerSequence, key: jax.Array) -> tuple[DreamerState, dict]:
        """The world model's step, then behaviour learning from the starts it returns."""
        world_key, behaviour_key = jax.random.split(key)
        world, world_metrics, starts = self.model.step(state.world, batch, world_key)
        state, behaviour_metrics = self.behaviour_step(state.replace(world=world), world.params, starts,
                                                       batch.cont, behaviour_key)
        return state.replace(updates=state.updates + 1), {**world_metrics, **behaviour_metrics}


def lambda_returns(reward: jax.Array, cont: jax.Array, value: jax.Array, gamma: float, lam: float) -> jax.Array:
    """R_k = r_{k+1} + gamma c_{k+1} ((1 - lam) v_{k+1} + lam R_{k+1}), R_H = v_H, for k < H.

    reward, cont `[H, N]`: entry k is r_{k+1}, c_{k+1} (predicted at imagined state k + 1); value `[H + 1, N]`.
    Returns `[H, N]`."""

    def step(next_return, inputs):
        r, c, v_next = inputs
        ret = r + gamma * c * ((1.0 - lam) * v_next + lam * next_return)
        return ret, ret

    _, returns = jax.lax.scan(step, value[-1], (reward, cont, value[1:]), reverse=True)
    return returns
