"""The actor-critic around a memory cell: encoder -> memory (any kernels/ cell) -> actor and critic heads.

Two layouts, chosen by `PPOConfig`:
- the plain one (PPO's original): a ReLU Dense of `memory_size` in front of the memory (none without one), tanh
  or ReLU heads with variance-scaling init;
- popjaxrl's (Lu et al. 2023, in-context RL with S5): an encoder MLP of `encoder` widths, then the memory,
  then heads of `hidden` widths, all with orthogonal init (gain sqrt 2 on the encoder, 2 on the head bodies,
  0.01 on the actor output, 1 on the critic output) and zero biases.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp

from agents.networks import MLP
from kernels.blocks import orthogonal

ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu, "leaky_relu": nn.leaky_relu}


class OrthogonalMLP(nn.Module):
    """Dense layers with orthogonal init (`gain` on hidden layers, `out_gain` on the output) and zero biases.

    `out=None` ends with the activation of the last hidden layer (an encoder); otherwise a linear output layer.
    """

    hidden: Sequence[int]
    out: int | None
    activation: Callable
    gain: float
    out_gain: float = 1.0

    @nn.compact
    def __call__(self, x):
        for width in self.hidden:
            x = self.activation(nn.Dense(width, kernel_init=orthogonal(self.gain))(x))
        if self.out is None:
            return x
        return nn.Dense(self.out, kernel_init=orthogonal(self.out_gain))(x)


class PlainEmbedding(nn.Module):
    width: int

    @nn.compact
    def __call__(self, x):
        return nn.relu(nn.Dense(self.width)(x))


def build_networks(encoder: Sequence[int], hidden: Sequence[int], activation: str, orthogonal_init: bool,
                   memory_width: int | None, action_dim: int):
    """(encoder or None, actor, critic) flax modules. `memory_width` is None for the feed-forward agent."""
    act = ACTIVATIONS[activation]
    if orthogonal_init:
        enc = OrthogonalMLP(tuple(encoder), None, act, math.sqrt(2)) if encoder else None
        actor = OrthogonalMLP(tuple(hidden), action_dim, act, 2.0, 0.01)
        critic = OrthogonalMLP(tuple(hidden), 1, act, 2.0, 1.0)
        return enc, actor, critic
    if encoder:
        enc = OrthogonalMLP(tuple(encoder), None, act, math.sqrt(2))
    else:
        enc = PlainEmbedding(memory_width) if memory_width else None
    return enc, MLP(tuple(hidden), action_dim, act, 0.01), MLP(tuple(hidden), 1, act, 1.0)


def encoder_width(encoder: Sequence[int], memory_width: int | None, input_dim: int) -> int:
    """Width of what the memory (or, without one, the heads) receives."""
    if encoder:
        return encoder[-1]
    return memory_width or input_dim


def zeros(width: int):
    return jnp.zeros((1, width))
