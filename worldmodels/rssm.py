"""The recurrent state-space model (RSSM) both world models share (DreamerV2, Hafner et al. 2021; DreamerV3, 2023).

The latent state at step t is s_t = (h_t, z_t):
- h_t, deterministic, from a LayerNorm GRU: h_t = GRU(h_{t-1}, [z_{t-1}, a_{t-1}]);
- z_t, stochastic: `stoch` categorical variables of `classes` classes, sampled one-hot with straight-through
  gradients, every distribution mixed with 1 % uniform;
- prior p(z_t | h_t) (what the model imagines), posterior q(z_t | h_t, e_t) (what it infers from the image
  embedding e_t);
- features [flat(z_t), h_t] feed every head.

Sequences are time-major: `embeds [T, B, E]`, `actions [T, B, A]` (the action that led to step t),
`firsts [T, B]`. Where `first` is set, the previous state is replaced by the learned initial state and the
previous action by zeros, so one batch may hold several episodes back to back.

Parameters are one flax pytree; `RSSM` binds the network to pure functions of it, so a second (EMA) copy of the
parameters runs through the very same functions.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from worldmodels.config import WorldModelConfig
from worldmodels.distributions import categorical_kl, mode_one_hot, sample_one_hot, unimix_log_probs
from worldmodels.networks import DenseNorm


@struct.dataclass
class Latent:
    """A batch of latent states; leaves carry any leading axes (`[B]`, `[T, B]`, `[H, N]`)."""

    deter: jax.Array  # [..., deter]
    stoch: jax.Array  # [..., stoch, classes], one-hot samples
    log_probs: jax.Array  # [..., stoch, classes], of the distribution stoch was drawn from


def features(latent: Latent) -> jax.Array:
    """[flat(z), h]: the input of every head and of the policy."""
    flat = latent.stoch.reshape((*latent.stoch.shape[:-2], -1))
    return jnp.concatenate([flat, latent.deter], axis=-1)


class LayerNormGRU(nn.Module):
    """A GRU whose three gates come from one bias-free Dense and a LayerNorm; the update gate is biased towards
    keeping the state (sigmoid(u - 1)), which steadies long rollouts (DreamerV2)."""

    width: int

    @nn.compact
    def __call__(self, h, x):
        parts = nn.Dense(3 * self.width, use_bias=False)(jnp.concatenate([x, h], axis=-1))
        reset, candidate, update = jnp.split(nn.LayerNorm(epsilon=1e-3)(parts), 3, axis=-1)
        candidate = jnp.tanh(jax.nn.sigmoid(reset) * candidate)
        update = jax.nn.sigmoid(update - 1.0)
        return update * candidate + (1.0 - update) * h


class RSSMNet(nn.Module):
    """The parameters of the core, with one method per piece of the step."""

    deter: int
    stoch: int
    classes: int
    units: int

    def setup(self):
        self.transition_in = DenseNorm(self.units)
        self.gru = LayerNormGRU(self.deter)
        self.prior_hidden = DenseNorm(self.units)
        self.prior_out = nn.Dense(self.stoch * self.classes)
        self.posterior_hidden = DenseNorm(self.units)
        self.posterior_out = nn.Dense(self.stoch * self.classes)
        self.initial_deter = self.param("initial_deter", nn.initializers.zeros, (self.deter,))

    def transition(self, deter, stoch, action):
        """h_t = GRU(h_{t-1}, [z_{t-1}, a_{t-1}])."""
        flat = stoch.reshape((*stoch.shape[:-2], -1))
        return self.gru(deter, self.transition_in(jnp.concatenate([flat, action], axis=-1)))

    def prior_logits(self, deter):
        return self.prior_out(self.prior_hidden(deter)).reshape((*deter.shape[:-1], self.stoch, self.classes))

    def posterior_logits(self, deter, embed):
        hidden = self.posterior_hidden(jnp.concatenate([deter, embed], axis=-1))
        return self.posterior_out(hidden).reshape((*deter.shape[:-1], self.stoch, self.classes))

    def initial(self):
        return jnp.tanh(self.initial_deter)

    def __call__(self, deter, stoch, action, embed):
        """Touches every piece once, for `init`."""
        deter = self.transition(deter, stoch, action)
        return self.prior_logits(deter), self.posterior_logits(deter, embed), self.initial()


Policy = Callable[[jax.Array, jax.Array], jax.Array]  # (features [N, F], key) -> actions [N, A]


class RSSM:
    """The core as pure functions of its parameters: `initial`, `prior_step`, `posterior`, `observe`, `imagine`
    and the balanced KL loss."""

    def __init__(self, config: WorldModelConfig, action_dim: int):
        self.config = config
        self.action_dim = action_dim
        self.net = RSSMNet(config.deter, config.stoch, config.classes, config.units)

    @property
    def feature_dim(self) -> int:
        return self.config.stoch * self.config.classes + self.config.deter

    def init(self, key: jax.Array, embed_dim: int) -> dict:
        c = self.config
        return self.net.init(key, jnp.zeros((1, c.deter)), jnp.zeros((1, c.stoch, c.classes)),
                             jnp.zeros((1, self.action_dim)), jnp.zeros((1, embed_dim)))

    def _apply(self, params, method, *args):
        return self.net.apply(params, *args, method=method)

    def log_probs(self, logits: jax.Array) -> jax.Array:
        """Logits `[..., S, C]` -> log-probabilities of the unimix categoricals."""
        return unimix_log_probs(logits, self.config.unimix)

    def initial(self, params: dict, batch_shape: tuple[int, ...]) -> Latent:
        """The learned initial state: h = tanh(w), z the mode of its prior (no sampling, so every episode starts
        from the same state)."""
        deter = jnp.broadcast_to(self._apply(params, RSSMNet.initial), (*batch_shape, self.config.deter))
        log_probs = self.log_probs(self._apply(params, RSSMNet.prior_logits, deter))
        return Latent(deter, mode_one_hot(log_probs), log_probs)

    def prior_step(self, params: dict, prev: Latent, action: jax.Array, key: jax.Array) -> Latent:
        """s_t ~ p(. | s_{t-1}, a_{t-1}): the GRU step and a sample of the prior."""
        deter = self._apply(params, RSSMNet.transition, prev.deter, prev.stoch, action)
        log_probs = self.log_probs(self._apply(params, RSSMNet.prior_logits, deter))
        return Latent(deter, sample_one_hot(log_probs, key), log_probs)

    def posterior(self, params: dict, deter: jax.Array, embed: jax.Array, key: jax.Array) -> Latent:
        """z_t ~ q(. | h_t, e_t), keeping h_t."""
        log_probs = self.log_probs(self._apply(params, RSSMNet.posterior_logits, deter, embed))
        return Latent(deter, sample_one_hot(log_probs, key), log_probs)

    def observe_step(self, params: dict, prev: Latent, action: jax.Array, embed: jax.Array, first: jax.Array,
                     key: jax.Array) -> tuple[Latent, Latent]:
        """One step of `observe` for a batch `[B]`: where `first`, the previous state becomes the initial one and
        the action zero; then the prior from (prev, action) and the posterior of `embed` -> (posterior, prior).
        An agent acting one frame at a time calls this, so its state is the training scan's."""
        initial = self.initial(params, first.shape)
        prev = jax.tree.map(lambda a, b: jnp.where(_expand(first, a), a, b), initial, prev)
        action = jnp.where(first[:, None], 0.0, action.astype(jnp.float32))
        prior_key, post_key = jax.random.split(key)
        prior = self.prior_step(params, prev, action, prior_key)
        return self.posterior(params, prior.deter, embed, post_key), prior

    def observe(self, params: dict, embeds: jax.Array, actions: jax.Array, firsts: jax.Array,
                key: jax.Array) -> tuple[Latent, Latent]:
        """Posteriors and priors `[T, B]` of a time-major sequence, one `lax.scan` of `observe_step` over T.
        `key` is one key, split into T step keys, or the `[T]` step keys themselves."""

        def step(prev, inputs):
            post, prior = self.observe_step(params, prev, *inputs)
            return post, (post, prior)

        keys = key if _is_key_array(key) else jax.random.split(key, firsts.shape[0])
        initial = self.initial(params, firsts.shape[1:])
        _, (posts, priors) = jax.lax.scan(step, initial, (actions.astype(jnp.float32), embeds, firsts, keys))
        return posts, priors

    def imagine(self, params: dict, start: Latent, policy: Policy, key: jax.Array,
                horizon: int) -> tuple[Latent, jax.Array]:
        """Roll the prior `horizon` steps from `start` (`[N]` states) with actions from `policy(features, key)`.

        Returns the states `[H, N]` after each step and the actions `[H, N, A]` that led to them: states[k] is
        the prior step from states[k-1] (start for k = 0) under actions[k]. Step k uses the k-th of
        `jax.random.split(key, horizon)`, split again into the policy's key and the prior's key.
        """

        def step(prev, step_key):
            policy_key, prior_key = jax.random.split(step_key)
            action = policy(features(prev), policy_key)
            state = self.prior_step(params, prev, action, prior_key)
            return state, (state, action)

        _, (states, actions) = jax.lax.scan(step, start, jax.random.split(key, horizon))
        return states, actions

    def kl_loss(self, posts: Latent, priors: Latent) -> tuple[jax.Array, dict]:
        """The balanced KL of DreamerV3, per step `[T, B]`: kl_dyn * max(free, KL[sg(q) || p]) trains the prior,
        kl_rep * max(free, KL[q || sg(p)]) the posterior; the free nats are clipped per step."""
        c = self.config
        sg = jax.lax.stop_gradient
        dyn = categorical_kl(sg(posts.log_probs), priors.log_probs)
        rep = categorical_kl(posts.log_probs, sg(priors.log_probs))
        loss = c.kl_dyn * jnp.maximum(c.free_nats, dyn) + c.kl_rep * jnp.maximum(c.free_nats, rep)
        return loss, {"kl": jnp.mean(dyn)}


def _is_key_array(key: jax.Array) -> bool:
    """Whether `key` is a `[T]` array of keys rather than one key (typed keys, or legacy uint32 `[2]` ones)."""
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    return key.ndim == (1 if typed else 2)


def _expand(flags: jax.Array, like: jax.Array) -> jax.Array:
    return flags.reshape(flags.shape + (1,) * (like.ndim - flags.ndim))
