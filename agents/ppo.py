"""Proximal Policy Optimisation (Schulman et al. 2017): clipped objective, clipped value loss, GAE, minibatch epochs.

Discrete actions use a categorical policy; continuous ones a Gaussian with a state-independent log-std, acting in
the normalised box (the loop rescales and clips to the env's bounds). With `memory != "none"` the policy is
recurrent: observations are embedded, passed through a memory cell from `kernels.make_memory` (gru, lstm, s5,
s4d, selective), and the actor and critic heads read its output. The carry is reset at episode starts (`first`),
and training replays each env's whole rollout sequence from the carry stored at the start of the rollout, so the
minibatches of a recurrent agent are sets of envs, not sets of steps.

The network input follows the observation space (agents/encoders.py): Discrete and MultiDiscrete are one-hot
encoded, flat Boxes flattened, and images (rank-3 Boxes, uint8 pixels scaled to [0, 1]) pass through a small
CNN (`cnn_channels`). On envs whose spec asks for it (`EnvSpec.previous_action_input`: the POPGym ports) a
recurrent agent also sees its previous action and a first-step flag (`prev_action`), the input of Lu et al.
2023, Structured State Space Models for In-Context Reinforcement Learning: `wrap_env` adds them, and the loops
apply it. `encoder` and `orthogonal_init` give that paper's network (agents/recurrent_networks.py); SSM
parameters train at `ssm_lr` through the kernels' optimiser partition. The in-context RL presets (CPU and
paper) are in agents/icrl.py.

The agent is pure functions; the on-policy loop (core/loops/on_policy.py) collects rollouts and calls `update`.
`make_train(config, env, total_steps)` returns a pure `train(key)` for `jax.jit(jax.vmap(train))` over seeds.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Annotated

import jax
import jax.numpy as jnp
import optax
from flax import struct

import kernels
from agents.encoders import observation_input
from agents.recurrent_networks import ACTIVATIONS, build_networks, encoder_width
from core.gae import gae
from core.protocols import OnPolicyAgent
from core.validation import (
    finite_number,
    flag,
    key_values,
    non_negative,
    non_negative_number,
    one_of,
    optional_widths,
    positive,
    positive_number,
    unit_interval,
    widths,
)
from envs.protocol import EnvSpec, JaxEnv
from envs.spaces import Box, Discrete
from envs.wrappers.previous_action import PreviousActionObservation, previous_action_observation_space


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters; the defaults are PureJaxRL's CartPole settings."""

    num_envs: Annotated[int, positive] = 4
    """Parallel environments."""
    num_steps: Annotated[int, positive] = 128
    """Steps per env in each rollout; one PPO iteration is num_envs * num_steps env steps."""
    update_epochs: Annotated[int, positive] = 4
    """Passes over each rollout."""
    num_minibatches: Annotated[int, positive] = 4
    """Minibatches per epoch (of steps, or of whole env sequences with a memory)."""
    lr: Annotated[float, positive_number] = 2.5e-4
    """Adam learning rate."""
    anneal_lr_steps: Annotated[int, non_negative] = 0
    """Env steps over which the learning rate decays linearly to zero; 0 keeps it constant."""
    gamma: Annotated[float, unit_interval] = 0.99
    """Discount factor."""
    gae_lambda: Annotated[float, unit_interval] = 0.95
    """GAE lambda."""
    clip_eps: Annotated[float, positive_number] = 0.2
    """Policy ratio clip range."""
    value_clip_eps: Annotated[float, non_negative_number] = 0.2
    """Value clip range around the rollout's values; 0 disables value clipping."""
    ent_coef: Annotated[float, non_negative_number] = 0.01
    """Entropy bonus weight."""
    vf_coef: Annotated[float, non_negative_number] = 0.5
    """Value loss weight."""
    max_grad_norm: Annotated[float, positive_number] = 0.5
    """Global gradient-norm clip."""
    normalize_advantages: Annotated[bool, flag] = True
    """Normalise advantages per minibatch."""
    hidden: Annotated[tuple[int, ...], widths] = (64, 64)
    """Hidden widths of the actor and critic heads."""
    activation: Annotated[str, one_of(*ACTIVATIONS)] = "tanh"
    """Activation of the heads (and encoder): tanh, relu or leaky_relu."""
    encoder: Annotated[tuple[int, ...], optional_widths] = ()
    """Encoder widths in front of the memory (the heads without one); empty: one ReLU Dense of memory_size with a
    memory, none without."""
    orthogonal_init: Annotated[bool, flag] = False
    """popjaxrl's init: orthogonal, gain sqrt 2 on the encoder, 2 on head bodies, 0.01 actor out, 1 critic out."""
    init_log_std: Annotated[float, finite_number] = 0.0
    """Initial log standard deviation of the Gaussian policy (continuous actions)."""
    memory: Annotated[str, one_of(*kernels.MEMORY_NAMES)] = "none"
    """Sequence memory: none (feed-forward), gru, lstm, s5, s4d or selective."""
    memory_size: Annotated[int, positive] = 128
    """Width of the memory cell (and of the observation embedding in front of it)."""
    memory_layers: Annotated[int, positive] = 1
    """Stacked memory layers."""
    memory_options: Annotated[tuple[str, ...], key_values] = ()
    """Memory-cell options as key=value, e.g. ssm_size=256 norm=False (the width is memory_size).
    s5: ssm_size (HiPPO size N), blocks, discretisation (zoh|bilinear), step_min, step_max,
    eigenvalue_constraint (neg_exp|clip|none), activation (full_glu|half_glu|gelu|none), norm,
    method (auto|sequential|parallel|chunked), complex_mode (auto|pairs|native).
    s4d: num_modes, init_kind (lin|inv|real), mode (recurrent|conv), step_min, step_max,
    activation, norm, method, chunk_size.
    selective: state_size, expand, conv_width, dt_rank, dt_min, dt_max, norm, method, chunk_size, fused, native.
    gru, lstm, none: no options."""
    prev_action: Annotated[bool, flag] = True
    """With a memory, on envs whose spec asks for it (the POPGym ports, pomdp:): append the one-hot previous
    action (raw if continuous) and a first-step flag to the observation (the in-context input of Lu et al. 2023).
    Ignored without a memory and on other envs (jax:, gym:, brax:, pomdp:meta, which carries its own)."""
    cnn_channels: Annotated[tuple[int, ...], widths] = (16, 32, 32)
    """Image observations only (rank-3 Boxes): channels of the CNN's 3x3 stride-2 convolutions."""
    ssm_lr: Annotated[float, non_negative_number] = 0.0
    """Learning rate of the SSM parameters (eigenvalues, B, timescales; no weight decay); 0: same as lr."""
    bootstrap_truncation: Annotated[bool, flag] = True
    """Bootstrap from the final observation at a time-limit truncation; False treats every episode end as
    terminal (popjaxrl and the S5 paper)."""
    refresh_carry: Annotated[bool, flag] = False
    """After each update, recompute the rollout's final memory carry with the new params (one extra scan)."""


@struct.dataclass
class PPOState:
    params: dict
    opt_state: optax.OptState
    updates: jax.Array


class PPO(OnPolicyAgent):
    """Pure PPO functions bound to one config and env spec."""

    def __init__(self, config: PPOConfig, spec: EnvSpec):
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
        self.recurrent = config.memory != "none"
        self.prev_action = config.prev_action and self.recurrent and spec.previous_action_input
        if self.prev_action:  # what PreviousActionObservation produces
            self.observation_space = previous_action_observation_space(spec.observation_space, spec.action_space)
        else:
            self.observation_space = spec.observation_space
        self.input = observation_input(self.observation_space, config.cnn_channels)
        self.obs_dim = self.input.dim
        options = parse_memory_options(config.memory_options)
        if self.recurrent:
            options = {"hidden_size": config.memory_size, **options}
        self.cell = kernels.make_memory(config.memory, num_layers=config.memory_layers, **options)
        self.memory_env_axes = _env_axes(self.cell)
        memory_width = config.memory_size if self.recurrent else None
        self.embed_net, self.actor_net, self.critic_net = build_networks(
            config.encoder, config.hidden, config.activation, config.orthogonal_init, memory_width, self.action_dim)
        self.embed_dim = self.obs_dim if self.embed_net is None else encoder_width(config.encoder, memory_width,
                                                                                   self.obs_dim)
        self.tx = self._optimizer()

    def _optimizer(self) -> optax.GradientTransformation:
        c = self.config
        adam = lambda lr: optax.adam(self._learning_rate(lr), eps=1e-5)
        if not self.recurrent:
            return optax.chain(optax.clip_by_global_norm(c.max_grad_norm), adam(c.lr))
        # The kernels' partition: leaves under an "ssm" key get their own LR (and, like all here, no weight decay).
        groups = optax.multi_transform({"ssm": adam(c.ssm_lr or c.lr), "rest": adam(c.lr)}, kernels.ssm_param_labels)
        return optax.chain(optax.clip_by_global_norm(c.max_grad_norm), groups)

    def wrap_env(self, env):
        """The env as this agent sees it: with previous-action inputs where `prev_action` applies."""
        if not self.prev_action or isinstance(env, PreviousActionObservation):
            return env
        if not isinstance(env, JaxEnv):
            raise ValueError(f"previous-action inputs need a JAX env; {env.spec.name} is a host env "  # noqa: TRY004
                             f"(pass --no-prev-action)")
        return PreviousActionObservation(env)

    def _learning_rate(self, lr: float):
        c = self.config
        if not c.anneal_lr_steps:
            return lr
        iterations = max(c.anneal_lr_steps // (c.num_envs * c.num_steps), 1)
        return optax.linear_schedule(lr, 0.0, iterations * c.update_epochs * c.num_minibatches)

    # --- parameters and memory ------------------------------------------------------------------------------
    def init(self, key: jax.Array) -> PPOState:
        """The learner state, built in one compiled call (eager flax inits compile every op on its own)."""
        return self._initial_state(key)

    @functools.partial(jax.jit, static_argnums=0)
    def _initial_state(self, key: jax.Array) -> PPOState:
        embed_key, memory_key, actor_key, critic_key = jax.random.split(key, 4)
        feature_dim = self.cell.hidden_size if self.recurrent else self.embed_dim
        features = jnp.zeros((1, feature_dim))
        params = {"actor": self.actor_net.init(actor_key, features),
                  "critic": self.critic_net.init(critic_key, features)}
        if not self.discrete:
            params["log_std"] = jnp.full((self.action_dim,), self.config.init_log_std, jnp.float32)
        if self.embed_net is not None:
            params["embed"] = self.embed_net.init(embed_key, jnp.zeros((1, self.obs_dim)))
        if self.recurrent:
            params["memory"] = self.cell.init(memory_key, self.embed_dim)
        if self.input.cnn is not None:  # a key of its own: the other parameters stay those of a flat input
            params["cnn"] = self.input.init(jax.random.fold_in(key, 1))
        return PPOState(params, self.tx.init(params), jnp.zeros((), jnp.int32))

    def initial_memory(self, num_envs: int):
        """The memory carry of `num_envs` fresh episodes (an empty tuple for the feed-forward agent)."""
        return self.cell.initialize_carry((num_envs,))

    def remember(self, params: dict, memory, obs: jax.Array, first: jax.Array):
        """One step: `obs [B, obs_dim]`, `first [B]` (obs starts an episode) -> (memory, features [B, F])."""
        if not self.recurrent:
            return memory, self._embed(params, obs)
        return self.cell.step(params["memory"], memory, self._embed(params, obs), first)

    def remember_sequence(self, params: dict, memory, obs: jax.Array, first: jax.Array):
        """Whole sequences: `obs [T, B, obs_dim]`, `first [T, B]` -> (memory, features [T, B, F])."""
        if not self.recurrent:
            return memory, self._embed(params, obs)
        return self.cell.scan(params["memory"], memory, self._embed(params, obs), first)

    def _embed(self, params, obs):
        """Observations `[..., *obs_shape]` -> network inputs (one-hot, flattened or CNN), through the encoder."""
        x = self.input(params.get("cnn"), obs)
        return x if self.embed_net is None else self.embed_net.apply(params["embed"], x)

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

        `rollout` holds `[T, B, ...]` arrays: obs, first, action, logp, reward, terminated, done, the features
        `feat` of each obs as seen by the policy during the rollout and, with `bootstrap_truncation`, `boot_feat`
        of the final observation where a step was truncated (anything elsewhere); and `last_feat [B, F]`, those
        of the observation after the rollout. `memory` is the carry at the rollout's start.
        """
        c = self.config
        params = state.params
        values = self.value(params, rollout["feat"])
        # The next obs within the episode is the next stored one, except after the last step and at truncations.
        next_values = jnp.concatenate([values[1:], self.value(params, rollout["last_feat"])[None]])
        terminated = rollout["terminated"]
        if c.bootstrap_truncation:
            truncated = jnp.logical_and(rollout["done"], jnp.logical_not(terminated))
            next_values = jnp.where(truncated, self.value(params, rollout["boot_feat"]), next_values)
        else:
            terminated = rollout["done"]
        advantages, targets = gae(rollout["reward"], values, next_values, terminated, rollout["done"],
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


def parse_memory_options(options: tuple[str, ...]) -> dict:
    """("ssm_size=256", "norm=False") -> {"ssm_size": 256, "norm": False}; values are Python literals or strings."""
    parsed = {}
    for option in options:
        if "=" not in option:
            raise ValueError(f"memory option {option!r} must look like key=value")
        key, value = option.split("=", 1)
        value = {"true": "True", "false": "False"}.get(value.lower(), value)
        try:
            parsed[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed[key] = value
    return parsed


def _env_axes(cell):
    """The env (batch) axis of each leaf of a cell's carry (found by comparing two batch sizes)."""
    two = jax.eval_shape(lambda: cell.initialize_carry((2,)))
    three = jax.eval_shape(lambda: cell.initialize_carry((3,)))
    return jax.tree.map(lambda a, b: next(i for i, (p, q) in enumerate(zip(a.shape, b.shape)) if p != q), two, three)


def make_train(config: PPOConfig, env, total_steps: int):
    """A pure `train(key) -> (learner carry, per-iteration stats)` for `jax.jit(jax.vmap(train))` over seeds."""
    from core.loops.on_policy import make_train as make_on_policy_train

    return make_on_policy_train(PPO(config, env.spec), env, total_steps)
