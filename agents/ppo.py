"""Proximal Policy Optimisation (Schulman et al. 2017): clipped objective, clipped value loss, GAE, minibatch epochs.

Discrete actions use a categorical policy; continuous ones a Gaussian with a state-independent log-std, acting in
the normalised box (the loop rescales and clips to the env's bounds). With `memory != "none"` the policy is
recurrent: observations are embedded, passed through a memory cell from `kernels.make_memory` (gru, lstm, s5,
s4d, selective), and the actor and critic heads read its output. The carry is reset at episode starts (`first`),
and training replays each env's whole rollout sequence from the carry stored at the start of the rollout, so the
minibatches of a recurrent agent are sets of envs, not sets of steps.

The agent is pure functions; the on-policy loop (core/loops/on_policy.py) collects rollouts and calls `update`.
`make_train(config, env, total_steps)` returns a pure `train(key)` for `jax.jit(jax.vmap(train))` over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

import kernels
from agents.networks import MLP
from core.gae import gae
from envs.protocol import EnvSpec
from envs.spaces import Box, Discrete

ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu}


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters; the defaults are PureJaxRL's CartPole settings."""

    num_envs: int = 4
    """Parallel environments."""
    num_steps: int = 128
    """Steps per env in each rollout; one PPO iteration is num_envs * num_steps env steps."""
    update_epochs: int = 4
    """Passes over each rollout."""
    num_minibatches: int = 4
    """Minibatches per epoch (of steps, or of whole env sequences with a memory)."""
    lr: float = 2.5e-4
    """Adam learning rate."""
    anneal_lr_steps: int = 0
    """Env steps over which the learning rate decays linearly to zero; 0 keeps it constant."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_eps: float = 0.2
    """Policy ratio clip range."""
    value_clip_eps: float = 0.2
    """Value clip range around the rollout's values; 0 disables value clipping."""
    ent_coef: float = 0.01
    """Entropy bonus weight."""
    vf_coef: float = 0.5
    """Value loss weight."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip."""
    normalize_advantages: bool = True
    """Normalise advantages per minibatch."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the actor and critic heads."""
    activation: str = "tanh"
    """Activation of the heads: tanh or relu."""
    init_log_std: float = 0.0
    """Initial log standard deviation of the Gaussian policy (continuous actions)."""
    memory: str = "none"
    """Sequence memory: none (feed-forward), gru, lstm, s5, s4d or selective."""
    memory_size: int = 128
    """Width of the memory cell (and of the observation embedding in front of it)."""
    memory_layers: int = 1
    """Stacked memory layers."""


@struct.dataclass
class PPOState:
    params: dict
    opt_state: optax.OptState
    updates: jax.Array


class PPO:
    """Pure PPO functions bound to one config and env spec."""

    def __init__(self, config: PPOConfig, spec: EnvSpec):
        if len(spec.observation_space.shape) != 1:
            raise ValueError(f"PPO needs flat observations; {spec.name} has shape {spec.observation_space.shape}")
        if config.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {config.activation!r}")
        if config.num_envs % config.num_minibatches and config.memory != "none":
            raise ValueError(f"with a memory, num_envs ({config.num_envs}) must be a multiple of num_minibatches "
                             f"({config.num_minibatches}): recurrent minibatches are sets of whole env sequences")
        if (config.num_envs * config.num_steps) % config.num_minibatches:
            raise ValueError(f"num_envs * num_steps ({config.num_envs * config.num_steps}) must be a multiple of "
                             f"num_minibatches ({config.num_minibatches})")
        self.config = config
        self.spec = spec
        self.discrete = isinstance(spec.action_space, Discrete)
        if not self.discrete and not (isinstance(spec.action_space, Box) and len(spec.action_space.shape) == 1):
            raise ValueError(f"PPO needs Discrete or flat Box actions; {spec.name} has {spec.action_space}")
        self.action_dim = spec.action_space.n if self.discrete else spec.action_space.shape[0]
        self.obs_dim = spec.observation_space.shape[0]
        self.recurrent = config.memory != "none"
        self.cell = kernels.make_memory(config.memory, num_layers=config.memory_layers,
                                        **({"hidden_size": config.memory_size} if self.recurrent else {}))
        self.memory_env_axes = _env_axes(self.cell)
        activation = ACTIVATIONS[config.activation]
        self.embed_net = nn.Dense(config.memory_size)
        self.actor_net = MLP(config.hidden, self.action_dim, activation, final_scale=0.01)
        self.critic_net = MLP(config.hidden, 1, activation, final_scale=1.0)
        self.tx = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                              optax.adam(self._learning_rate(), eps=1e-5))

    def _learning_rate(self):
        c = self.config
        if not c.anneal_lr_steps:
            return c.lr
        iterations = max(c.anneal_lr_steps // (c.num_envs * c.num_steps), 1)
        return optax.linear_schedule(c.lr, 0.0, iterations * c.update_epochs * c.num_minibatches)

    # --- parameters and memory ------------------------------------------------------------------------------
    def init(self, key: jax.Array) -> PPOState:
        embed_key, memory_key, actor_key, critic_key = jax.random.split(key, 4)
        feature_dim = self.cell.hidden_size if self.recurrent else self.obs_dim
        features = jnp.zeros((1, feature_dim))
        params = {"actor": self.actor_net.init(actor_key, features),
                  "critic": self.critic_net.init(critic_key, features)}
        if not self.discrete:
            params["log_std"] = jnp.full((self.action_dim,), self.config.init_log_std, jnp.float32)
        if self.recurrent:
            params["embed"] = self.embed_net.init(embed_key, jnp.zeros((1, self.obs_dim)))
            params["memory"] = self.cell.init(memory_key, self.config.memory_size)
        return PPOState(params, self.tx.init(params), jnp.zeros((), jnp.int32))

    def initial_memory(self, num_envs: int):
        """The memory carry of `num_envs` fresh episodes (an empty tuple for the feed-forward agent)."""
        return self.cell.initialize_carry((num_envs,))

    def remember(self, params: dict, memory, obs: jax.Array, first: jax.Array):
        """One step: `obs [B, obs_dim]`, `first [B]` (obs starts an episode) -> (memory, features [B, F])."""
        if not self.recurrent:
            return memory, obs
        return self.cell.step(params["memory"], memory, self._embed(params, obs), first)

    def remember_sequence(self, params: dict, memory, obs: jax.Array, first: jax.Array):
        """Whole sequences: `obs [T, B, obs_dim]`, `first [T, B]` -> (memory, features [T, B, F])."""
        if not self.recurrent:
            return memory, obs
        return self.cell.scan(params["memory"], memory, self._embed(params, obs), first)

    def _embed(self, params, obs):
        return nn.relu(self.embed_net.apply(params["embed"], obs))

    # --- policy and value heads -----------------------------------------------------------------------------
    def value(self, params: dict, features: jax.Array) -> jax.Array:
        return self.critic_net.apply(params["critic"], features)[..., 0]

    def sample(self, params: dict, features: jax.Array, key: jax.Array, deterministic: bool = False):
        """Actions and their log-probabilities for features `[..., F]`."""
        out = self.actor_net.apply(params["actor"], features)
        if self.discrete:
            action = jnp.argmax(out, -1) if deterministic else jax.random.categorical(key, out)
            action = action.astype(jnp.int32)
        else:
            noise = 0.0 if deterministic else jax.random.normal(key, out.shape)
            action = out + jnp.exp(params["log_std"]) * noise
        logp, _ = self._log_prob_entropy(params, out, action)
        return action, logp

    def log_prob_entropy(self, params: dict, features: jax.Array, action: jax.Array):
        return self._log_prob_entropy(params, self.actor_net.apply(params["actor"], features), action)

    def _log_prob_entropy(self, params, out, action):
        if self.discrete:
            log_probs = jax.nn.log_softmax(out)
            logp = jnp.take_along_axis(log_probs, action[..., None].astype(jnp.int32), -1)[..., 0]
            return logp, -jnp.sum(jnp.exp(log_probs) * log_probs, -1)
        log_std = params["log_std"]
        z = (action - out) * jnp.exp(-log_std)
        logp = jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi), -1)
        entropy = jnp.sum(log_std + 0.5 * jnp.log(2 * jnp.pi * jnp.e)) * jnp.ones(out.shape[:-1])
        return logp, entropy

    def act(self, params: dict, memory, obs: jax.Array, first: jax.Array, key: jax.Array, deterministic=False):
        """Acting one step: -> (memory, action [B, ...]) in normalised units."""
        memory, features = self.remember(params, memory, obs, first)
        action, _ = self.sample(params, features, key, deterministic)
        return memory, action

    # --- learning -------------------------------------------------------------------------------------------
    def loss(self, params: dict, batch: dict, memory):
        """Clipped PPO loss on a minibatch: `[T, B, ...]` sequences with a memory, `[N, ...]` steps without."""
        _, features = self.remember_sequence(params, memory, batch["obs"], batch["first"])
        logp, entropy = self.log_prob_entropy(params, features, batch["action"])
        value = self.value(params, features)
        c = self.config
        advantage = batch["advantage"]
        if c.normalize_advantages:
            advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
        ratio = jnp.exp(logp - batch["logp"])
        clipped_ratio = jnp.clip(ratio, 1.0 - c.clip_eps, 1.0 + c.clip_eps)
        policy_loss = -jnp.minimum(ratio * advantage, clipped_ratio * advantage).mean()
        value_error = (value - batch["target"]) ** 2
        if c.value_clip_eps > 0:
            clipped_value = batch["value"] + jnp.clip(value - batch["value"], -c.value_clip_eps, c.value_clip_eps)
            value_error = jnp.maximum(value_error, (clipped_value - batch["target"]) ** 2)
        value_loss = 0.5 * value_error.mean()
        entropy = entropy.mean()
        total = policy_loss + c.vf_coef * value_loss - c.ent_coef * entropy
        approx_kl = ((ratio - 1.0) - jnp.log(ratio)).mean()
        clip_fraction = (jnp.abs(ratio - 1.0) > c.clip_eps).mean()
        return total, {"loss": total, "policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy,
                       "approx_kl": approx_kl, "clip_fraction": clip_fraction}

    def update(self, state: PPOState, rollout: dict, memory, key: jax.Array) -> tuple[PPOState, dict]:
        """Epochs of minibatch steps on one rollout.

        `rollout` holds `[T, B, ...]` arrays: obs, first, action, logp, reward, terminated, done, and the
        features `feat` of each obs and `boot_feat` of the observation that followed it (`final_obs`) as seen by
        the policy during the rollout. `memory` is the carry at the rollout's start.
        """
        c = self.config
        params = state.params
        values = self.value(params, rollout["feat"])
        next_values = self.value(params, rollout["boot_feat"])
        advantages, targets = gae(rollout["reward"], values, next_values, rollout["terminated"], rollout["done"],
                                  c.gamma, c.gae_lambda)
        batch = {"obs": rollout["obs"], "first": rollout["first"], "action": rollout["action"],
                 "logp": rollout["logp"], "value": values, "advantage": advantages, "target": targets}

        def minibatch_step(state, minibatch):
            batch, memory = minibatch
            grads, metrics = jax.grad(self.loss, has_aux=True)(state.params, batch, memory)
            updates, opt_state = self.tx.update(grads, state.opt_state, state.params)
            params = optax.apply_updates(state.params, updates)
            return PPOState(params, opt_state, state.updates + 1), metrics

        def epoch(state, epoch_key):
            return jax.lax.scan(minibatch_step, state, self._minibatches(batch, memory, epoch_key))

        state, metrics = jax.lax.scan(epoch, state, jax.random.split(key, c.update_epochs))
        metrics = jax.tree.map(jnp.mean, metrics)
        return state, {**metrics, "value_mean": values.mean(), "advantage_mean": advantages.mean()}

    def _minibatches(self, batch: dict, memory, key: jax.Array):
        """Shuffled minibatches stacked on a leading axis: steps `[M, N, ...]`, or sequences `[M, T, B/M, ...]`."""
        m = self.config.num_minibatches
        if not self.recurrent:
            steps = jax.tree.map(lambda x: x.reshape((-1, *x.shape[2:])), batch)
            order = jax.random.permutation(key, steps["obs"].shape[0])
            return jax.tree.map(lambda x: x[order].reshape((m, -1, *x.shape[1:])), steps), memory
        num_envs = batch["obs"].shape[1]
        order = jax.random.permutation(key, num_envs)
        split_envs = lambda x: jnp.swapaxes(x[:, order].reshape((x.shape[0], m, -1, *x.shape[2:])), 0, 1)
        batch = jax.tree.map(split_envs, batch)
        memory = jax.tree.map(lambda x, axis: self._split_memory(x, order, axis), memory, self.memory_env_axes)
        return batch, memory

    def _split_memory(self, leaf, order, axis: int):
        """Permute and split one memory leaf on its env axis, then move the minibatch axis to the front."""
        leaf = jnp.take(leaf, order, axis=axis)
        leaf = leaf.reshape((*leaf.shape[:axis], self.config.num_minibatches, -1, *leaf.shape[axis + 1:]))
        return jnp.moveaxis(leaf, axis, 0)


def _env_axes(cell):
    """The env (batch) axis of each leaf of a cell's carry: a stacked cell keeps its layer axis first."""
    two = jax.eval_shape(lambda: cell.initialize_carry((2,)))
    three = jax.eval_shape(lambda: cell.initialize_carry((3,)))
    return jax.tree.map(lambda a, b: next(i for i, (p, q) in enumerate(zip(a.shape, b.shape)) if p != q), two, three)


def make_train(config: PPOConfig, env, total_steps: int):
    """A pure `train(key) -> (learner carry, per-iteration stats)` for `jax.jit(jax.vmap(train))` over seeds."""
    from core.loops.on_policy import make_train as make_on_policy_train

    return make_on_policy_train(PPO(config, env.spec), env, total_steps)
