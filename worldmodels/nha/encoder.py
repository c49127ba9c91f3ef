"""The mode encoder: the first samples of a segment -> logits over m modes, and the gates made from them.

The categorical gate draws a mode and passes gradients straight through the softmax (Bengio et al. 2013):
q = onehot(k) + softmax(l) - stop_gradient(softmax(l)), k ~ Cat(softmax l). Its forward value is one mode, so the
flows never see a blend of modes; the softmax gate (an option, for comparison) does blend them."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

GATES = ("categorical", "softmax")


class ModeEncoder(nn.Module):
    modes: int
    hidden: Sequence[int] = (64, 64, 64)
    dropout: float = 0.3

    @nn.compact
    def __call__(self, inputs: jax.Array, train: bool = False) -> jax.Array:
        activations = [nn.relu] * (len(self.hidden) - 1) + [jnp.tanh]
        h = inputs
        for width, activation in zip(self.hidden, activations):
            h = nn.Dropout(self.dropout, deterministic=not train)(activation(nn.Dense(width)(h)))
        return nn.Dense(self.modes, use_bias=False)(h)


def straight_through(logits: jax.Array, key: jax.Array) -> jax.Array:
    """[..., m] one-hot mode samples whose gradient is the softmax's."""
    probs = jax.nn.softmax(logits)
    sample = jax.nn.one_hot(jax.random.categorical(key, logits), logits.shape[-1])
    return sample + probs - jax.lax.stop_gradient(probs)


def gate(logits: jax.Array, key: jax.Array, kind: str = "categorical") -> jax.Array:
    if kind == "softmax":
        return jax.nn.softmax(logits)
    return straight_through(logits, key)
