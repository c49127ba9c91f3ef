"""The output distributions of the world models: categorical latents with unimix and straight-through samples,
the symlog two-hot reward distribution, and the feature normalisation the latent losses compare with.

DreamerV3 (Hafner et al. 2023) motivates each choice:
- 1 % uniform mixing keeps every class probability away from zero, so KL terms and log-likelihoods stay finite
  and the prior can never be certain;
- straight-through one-hot samples let gradients reach the logits through a discrete latent;
- a two-hot target over bins in symlog space learns rewards of any scale with one cross-entropy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

REWARD_BINS = 255
BIN_RANGE = 20.0  # bins span symlog values [-20, 20], i.e. rewards up to about +-5e8


def symlog(x: jax.Array) -> jax.Array:
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


def symexp(x: jax.Array) -> jax.Array:
    return jnp.sign(x) * jnp.expm1(jnp.abs(x))


def unimix_log_probs(logits: jax.Array, unimix: float) -> jax.Array:
    """`[..., S, C]` logits -> log-probabilities of (1 - unimix) softmax + unimix uniform, per variable."""
    probs = jax.nn.softmax(logits, axis=-1)
    probs = (1.0 - unimix) * probs + unimix / logits.shape[-1]
    return jnp.log(probs)


def sample_one_hot(log_probs: jax.Array, key: jax.Array) -> jax.Array:
    """A one-hot sample per categorical variable whose gradient is that of the probabilities (straight-through)."""
    index = jax.random.categorical(key, log_probs, axis=-1)
    one_hot = jax.nn.one_hot(index, log_probs.shape[-1], dtype=log_probs.dtype)
    probs = jnp.exp(log_probs)
    return one_hot + probs - jax.lax.stop_gradient(probs)


def mode_one_hot(log_probs: jax.Array) -> jax.Array:
    return jax.nn.one_hot(jnp.argmax(log_probs, axis=-1), log_probs.shape[-1], dtype=log_probs.dtype)


def categorical_kl(log_p: jax.Array, log_q: jax.Array) -> jax.Array:
    """KL[p || q] of `[..., S, C]` factorised categoricals, summed over the S variables -> `[...]`."""
    return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=(-2, -1))


def reward_bins() -> jax.Array:
    return jnp.linspace(-BIN_RANGE, BIN_RANGE, REWARD_BINS)


def two_hot(values: jax.Array, bins: jax.Array) -> jax.Array:
    """`[...]` values -> `[..., K]` weights on the two bins around each value (clipped to the outer bins), whose
    weighted mean is the value."""
    values = jnp.clip(values, bins[0], bins[-1])
    upper = jnp.clip(jnp.searchsorted(bins, values, side="right"), 1, len(bins) - 1)
    lower = upper - 1
    weight_upper = (values - bins[lower]) / (bins[upper] - bins[lower])
    return (jax.nn.one_hot(lower, len(bins)) * (1.0 - weight_upper)[..., None]
            + jax.nn.one_hot(upper, len(bins)) * weight_upper[..., None])


def symlog_two_hot_nll(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """Cross-entropy of `[..., K]` logits against the two-hot code of symlog(targets) -> `[...]`."""
    target = two_hot(symlog(targets), reward_bins())
    return -jnp.sum(target * jax.nn.log_softmax(logits, axis=-1), axis=-1)


def symlog_two_hot_mean(logits: jax.Array) -> jax.Array:
    """The predicted value: symexp of the expected bin under the softmax of `[..., K]` logits."""
    return symexp(jnp.sum(jax.nn.softmax(logits, axis=-1) * reward_bins(), axis=-1))


def bernoulli_nll(logits: jax.Array, targets: jax.Array) -> jax.Array:
    return jnp.logaddexp(0.0, logits) - targets * logits


def unit_norm(v: jax.Array, eps: float = 1e-3) -> jax.Array:
    """v / max(|v|, eps) over the last axis: squared distances of unit vectors are 2 - 2 cos."""
    return v / jnp.maximum(jnp.linalg.norm(v, axis=-1, keepdims=True), eps)
