"""Small flax networks shared by the agents: MLPs, a tanh-squashed Gaussian actor and an ensemble critic."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class MLP(nn.Module):
    hidden: Sequence[int]
    out: int
    activation: Callable = nn.relu
    final_scale: float = 1.0

    @nn.compact
    def __call__(self, x):
        for width in self.hidden:
            x = self.activation(nn.Dense(width)(x))
        init = nn.initializers.variance_scaling(self.final_scale, "fan_avg", "uniform")
        return nn.Dense(self.out, kernel_init=init)(x)


class TanhGaussianActor(nn.Module):
    """A Gaussian policy squashed by tanh into [-1, 1]^action_dim; `activation` of its hidden layers (ReLU, or
    tanh as METRA's actor)."""

    hidden: Sequence[int]
    action_dim: int
    activation: Callable = nn.relu

    @nn.compact
    def __call__(self, obs):
        out = MLP(self.hidden, 2 * self.action_dim, self.activation)(obs)
        mean, log_std = jnp.split(out, 2, axis=-1)
        # A smooth squash of log_std into its range keeps gradients alive at the bounds.
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(log_std) + 1.0)
        return mean, log_std


def sample_tanh_gaussian(mean, log_std, key):
    """Reparameterised sample and its log-probability under the squashed distribution."""
    std = jnp.exp(log_std)
    noise = jax.random.normal(key, mean.shape)
    pre_tanh = mean + std * noise
    action = jnp.tanh(pre_tanh)
    gaussian_logp = -0.5 * (noise**2 + 2 * log_std + jnp.log(2 * jnp.pi))
    # log(1 - tanh(u)^2) written in a numerically stable form.
    squash_correction = 2.0 * (jnp.log(2.0) - pre_tanh - jax.nn.softplus(-2.0 * pre_tanh))
    return action, jnp.sum(gaussian_logp - squash_correction, axis=-1)


class EnsembleCritic(nn.Module):
    """`num` independent Q(s, a) heads evaluated as one batched computation; returns [num, batch]."""

    hidden: Sequence[int]
    num: int = 2

    @nn.compact
    def __call__(self, obs, action):
        x = jnp.concatenate([obs, action], axis=-1)
        ensemble = nn.vmap(
            MLP,
            variable_axes={"params": 0},
            split_rngs={"params": True},
            in_axes=None,
            out_axes=0,
            axis_size=self.num,
        )
        return ensemble(self.hidden, 1)(x)[..., 0]
