"""Soft Actor-Critic: continuous actions, twin Q with a target network, learned temperature.

The agent acts in the normalised action box [-1, 1]^d; the loops rescale to the env's bounds. `update` is one
pure function for a single `jit`, composed of four steps (critic, actor, temperature, Polyak target) that a
variant (e.g. CQL's critic) replaces one at a time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated

import jax
import jax.numpy as jnp
import optax
from flax import struct

from agents.networks import EnsembleCritic, TanhGaussianActor, sample_tanh_gaussian
from core.protocols import OffPolicyAgent
from core.transitions import Transition
from core.validation import (
    finite_number,
    flag,
    non_negative,
    number_in,
    positive,
    positive_number,
    unit_interval,
    widths,
)
from envs.protocol import EnvSpec
from envs.spaces import Box


@dataclass(frozen=True)
class SACConfig:
    """Soft Actor-Critic hyperparameters."""

    hidden: Annotated[tuple[int, ...], widths] = (256, 256)
    """Widths of the hidden layers of the actor and of each critic."""
    actor_lr: Annotated[float, positive_number] = 3e-4
    """Adam learning rate of the actor."""
    critic_lr: Annotated[float, positive_number] = 3e-4
    """Adam learning rate of the critics."""
    alpha_lr: Annotated[float, positive_number] = 3e-4
    """Adam learning rate of the log-temperature."""
    gamma: Annotated[float, unit_interval] = 0.99
    """Discount factor."""
    tau: Annotated[float, number_in(0, 1, open_low=True)] = 0.005
    """Polyak rate of the target critics."""
    batch_size: Annotated[int, positive] = 256
    """Transitions per gradient update."""
    buffer_size: Annotated[int, positive] = 1_000_000
    """Replay capacity in transitions."""
    learning_starts: Annotated[int, non_negative] = 5000
    """Env steps of uniform random actions before the first update."""
    init_alpha: Annotated[float, positive_number] = 1.0
    """Initial entropy temperature (its log is learned, so it stays positive)."""
    target_entropy_scale: Annotated[float, finite_number] = 1.0
    """Target entropy is -scale * action_dim."""
    num_envs: Annotated[int, positive] = 1
    """Parallel environments; each loop iteration does num_envs env steps."""
    updates_per_step: Annotated[float, positive_number] = 1.0
    """Gradient updates per env step (updates_per_step x num_envs x train_every must be a whole number)."""
    train_every: Annotated[int, positive] = 1
    """Loop iterations between bursts of updates; each burst catches up on the updates of those iterations."""
    backup_entropy: Annotated[bool, flag] = True
    """Subtract alpha * log pi(a'|s') in the critic's target (the soft backup); --no-backup-entropy: plain TD."""


@struct.dataclass
class SACState:
    actor: dict
    critic: dict
    target_critic: dict
    log_alpha: jax.Array
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    alpha_opt: optax.OptState
    updates: jax.Array


class SAC(OffPolicyAgent):
    """Pure SAC functions bound to one config and env spec; the off-policy loop's hooks keep their defaults."""

    def __init__(self, config: SACConfig, spec: EnvSpec):
        if not isinstance(spec.action_space, Box):
            kind = type(spec.action_space).__name__
            raise ValueError(f"SAC needs a continuous (Box) action space; {spec.name} has a {kind} action space")
        if len(spec.observation_space.shape) != 1:
            raise ValueError(f"SAC needs flat observations; {spec.name} has shape {spec.observation_space.shape}")
        self.config = config
        self.spec = spec
        self.action_dim = spec.action_space.shape[0]
        self.obs_dim = spec.observation_space.shape[0]
        self.actor_net = TanhGaussianActor(config.hidden, self.action_dim)
        self.critic_net = EnsembleCritic(config.hidden, 2)
        self.actor_tx = optax.adam(config.actor_lr)
        self.critic_tx = optax.adam(config.critic_lr)
        self.alpha_tx = optax.adam(config.alpha_lr)
        self.target_entropy = -config.target_entropy_scale * self.action_dim

    def init(self, key: jax.Array) -> SACState:
        """The learner state, built in one compiled call (eager flax inits compile every op on its own)."""
        return self._initial_state(key)

    @functools.partial(jax.jit, static_argnums=0)
    def _initial_state(self, key: jax.Array) -> SACState:
        actor_key, critic_key = jax.random.split(key)
        obs = jnp.zeros((1, self.obs_dim))
        act = jnp.zeros((1, self.action_dim))
        actor = self.actor_net.init(actor_key, obs)
        critic = self.critic_net.init(critic_key, obs, act)
        log_alpha = jnp.log(jnp.asarray(self.config.init_alpha, jnp.float32))
        return SACState(
            actor=actor,
            critic=critic,
            target_critic=jax.tree.map(jnp.copy, critic),  # its own buffers, so donation works
            log_alpha=log_alpha,
            actor_opt=self.actor_tx.init(actor),
            critic_opt=self.critic_tx.init(critic),
            alpha_opt=self.alpha_tx.init(log_alpha),
            updates=jnp.zeros((), jnp.int32),
        )

    def act(self, state: SACState, obs: jax.Array, key: jax.Array, deterministic: bool = False) -> jax.Array:
        """Actions in [-1, 1] for a batch of observations `[B, obs_dim]`."""
        mean, log_std = self.actor_net.apply(state.actor, obs)
        if deterministic:
            return jnp.tanh(mean)
        action, _ = sample_tanh_gaussian(mean, log_std, key)
        return action

    # --- losses ---------------------------------------------------------------------------------------------
    def td_target(self, state: SACState, batch: Transition, key: jax.Array) -> jax.Array:
        """`r + gamma (1 - terminated) min_k Qbar_k(s', a')`, a' ~ pi(s'), minus alpha log pi(a'|s') in the soft
        backup; gradients stopped. Bootstraps through truncations (time limits), never through terminations."""
        mean, log_std = self.actor_net.apply(state.actor, batch["next_obs"])
        next_action, next_logp = sample_tanh_gaussian(mean, log_std, key)
        next_value = self.critic_net.apply(state.target_critic, batch["next_obs"], next_action).min(axis=0)
        if self.config.backup_entropy:
            next_value = next_value - jnp.exp(state.log_alpha) * next_logp
        not_terminal = 1.0 - batch["terminated"].astype(jnp.float32)
        return jax.lax.stop_gradient(batch["reward"] + self.config.gamma * not_terminal * next_value)

    def critic_loss(self, critic, state: SACState, batch: Transition, key: jax.Array):
        target = self.td_target(state, batch, key)
        q = self.critic_net.apply(critic, batch["obs"], batch["action"])
        loss = 0.5 * jnp.mean(jnp.sum((q - target) ** 2, axis=0))
        return loss, {"critic_loss": loss, "q_mean": q.mean()}

    def actor_loss(self, actor, state: SACState, batch: dict, key: jax.Array):
        mean, log_std = self.actor_net.apply(actor, batch["obs"])
        action, logp = sample_tanh_gaussian(mean, log_std, key)
        q = self.critic_net.apply(state.critic, batch["obs"], action).min(axis=0)
        alpha = jnp.exp(state.log_alpha)
        loss = jnp.mean(alpha * logp - q)
        return loss, {"actor_loss": loss, "entropy": -logp.mean()}

    def alpha_loss(self, log_alpha, entropy):
        return log_alpha * jax.lax.stop_gradient(entropy - self.target_entropy)

    # --- one update: four steps, each replaceable by a variant --------------------------------------------------
    def critic_step(self, state: SACState, batch: Transition, key: jax.Array) -> tuple[SACState, dict]:
        grads, info = jax.grad(self.critic_loss, has_aux=True)(state.critic, state, batch, key)
        updates, critic_opt = self.critic_tx.update(grads, state.critic_opt)
        return state.replace(critic=optax.apply_updates(state.critic, updates), critic_opt=critic_opt), info

    def actor_step(self, state: SACState, batch: Transition, key: jax.Array) -> tuple[SACState, dict]:
        grads, info = jax.grad(self.actor_loss, has_aux=True)(state.actor, state, batch, key)
        updates, actor_opt = self.actor_tx.update(grads, state.actor_opt)
        return state.replace(actor=optax.apply_updates(state.actor, updates), actor_opt=actor_opt), info

    def temperature_step(self, state: SACState, entropy: jax.Array) -> tuple[SACState, dict]:
        grad = jax.grad(self.alpha_loss)(state.log_alpha, entropy)
        updates, alpha_opt = self.alpha_tx.update(grad, state.alpha_opt)
        log_alpha = optax.apply_updates(state.log_alpha, updates)
        return state.replace(log_alpha=log_alpha, alpha_opt=alpha_opt), {"alpha": jnp.exp(log_alpha)}

    def target_step(self, state: SACState) -> SACState:
        target = optax.incremental_update(state.critic, state.target_critic, self.config.tau)
        return state.replace(target_critic=target)

    def update(self, state: SACState, batch: Transition, key: jax.Array) -> tuple[SACState, dict]:
        """Critic, then actor (against the new critic), then temperature, then the Polyak target."""
        critic_key, actor_key = jax.random.split(key)
        state, critic_info = self.critic_step(state, batch, critic_key)
        state, actor_info = self.actor_step(state, batch, actor_key)
        state, alpha_info = self.temperature_step(state, actor_info["entropy"])
        state = self.target_step(state)
        return state.replace(updates=state.updates + 1), {**critic_info, **actor_info, **alpha_info}
