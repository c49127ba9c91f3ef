"""HNPG: hybrid natural policy gradient (Zhou, Sekhari, Song, Sun, "Offline Data Enhanced On-Policy Policy Gradient
with Provable Guarantees", arXiv 2311.08384).

An on-policy natural policy gradient (a TRPO step, agents/natural_gradient.py) whose critic Q(s, a) is fit on
both the fresh rollout (Monte-Carlo regression on the reward-to-go) and an offline dataset (fitted-Q evaluation:
a TD loss towards r + Q(s', a'), a' from the current policy), weight 1:1; the policy step's batch is the
rollout with its GAE advantages plus offline states with fresh policy actions and advantages
A = Q(s, a~) - V(s), V(s) the mean of Q over `value_samples` policy actions. `--no-hybrid` drops every offline
term: the same loop with a Monte-Carlo critic, plain NPG, the baseline (and then no --dataset is needed).

Two modes (`mode`):
- `per_step`, for finite-horizon tasks whose episodes last exactly H steps (the combination lock,
  envs/classic/combination_lock.py): a policy pi_h and a critic Q_h per step h = 0..H-1, stacked on a leading H
  axis, undiscounted. h of an online step is the agent's memory, a step counter reset at `first`; h of an
  offline row is its index within its episode (the rows are whole episodes in order), found once by
  `init_with_data` and kept as per-step row tables in the learner state. The critics are refit from h = H-1
  down to 0 (the target of Q_h reads the freshly refit Q_{h+1}), each by full-batch Adam from a fresh optimiser
  state; the H policy steps are independent (vmapped). Policies: 16-16 tanh mean MLP, state-independent
  log-std, actions in the env's own units, never clipped (envs/wrappers/raw_actions.py); critics 64-64 tanh.
- `stationary` (e.g. MuJoCo): one policy (64-64 tanh Gaussian, actions clipped to the env's box only when sent
  to it) and one critic (256-256 ReLU) with a Polyak target for its TD targets, discount `gamma`; truncations
  bootstrap, terminations do not. Minibatch Adam steps on equal on-policy and offline halves; observations
  normalised by the dataset's mean and std (frozen).

`mode="auto"` takes per_step on the envs in FIXED_HORIZON_ENVS or when --horizon is given, stationary otherwise.
Evaluation reports a `success_rate` in per_step mode: the fraction of episodes returning at least 1 (the
lock's reward for opening it). The paper evaluates stochastic policies: pass --no-eval-deterministic.
See docs/hnpg.md for what differs from the authors' code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Literal

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from agents.natural_gradient import NaturalStepSettings, natural_gradient_step
from agents.networks import MLP
from core import replay
from core.actions import to_env_action
from core.gae import gae
from core.protocols import DATASET, OnPolicyAgent
from core.validation import (
    ConfigError,
    finite_number,
    flag,
    non_negative_number,
    one_of,
    optional,
    optional_widths,
    positive,
    positive_number,
    unit_interval,
)
from envs.protocol import EnvSpec, JaxEnv
from envs.spaces import Box
from envs.wrappers.raw_actions import RawActions

PER_STEP, STATIONARY = "per_step", "stationary"
# Spec names (prefixes) of envs whose episodes all last exactly their time limit: `auto` picks per_step there.
FIXED_HORIZON_ENVS = ("CombinationLock",)
SUCCESS_RETURN = 1.0 - 1e-6  # an episode that returns at least this succeeded (the lock pays 1 when opened)
OUTPUT_SCALE = 0.1  # output-layer weights of the policy mean and the critic are scaled by this at init
STD_FLOOR = 1e-3  # floor of the dataset's observation std in the stationary normalisation
DEFAULTS = {  # mode -> (policy widths, critic widths, critic activation, critic steps, fresh critic optimiser)
    PER_STEP: ((16, 16), (64, 64), nn.tanh, 30, True),
    STATIONARY: ((64, 64), (256, 256), nn.relu, 100, False),
}


@dataclass(frozen=True)
class HNPGConfig:
    """HNPG hyperparameters; a field left at None (or empty) takes its mode's default."""

    num_envs: Annotated[int, positive] = 4
    """Parallel environments."""
    num_steps: Annotated[int, positive] = 1000
    """Steps per env in each rollout; an iteration is num_envs * num_steps env steps (4000 by default, the MuJoCo
    setting; e.g. --num-envs 50 --num-steps 20 gives 1000 on a lock of horizon 20). per_step: a multiple of H."""
    mode: Annotated[Literal["auto", "per_step", "stationary"], one_of("auto", PER_STEP, STATIONARY)] = "auto"
    """per_step: a policy and critic per step of a finite horizon, undiscounted; stationary: one of each,
    discounted; auto: per_step on fixed-horizon envs (the combination lock) or when --horizon is given."""
    horizon: Annotated[int | None, optional(positive)] = None
    """per_step mode's horizon H; default: the env's episode length."""
    hybrid: Annotated[bool, flag] = True
    """Learn from the offline --dataset too (HNPG); --no-hybrid: on-policy data only (NPG), no dataset."""
    gamma: Annotated[float, unit_interval] = 0.99
    """Discount factor of stationary mode (per_step is undiscounted)."""
    gae_lambda: Annotated[float, unit_interval] = 0.97
    """GAE lambda of the on-policy advantages."""
    max_kl: Annotated[float, positive_number] = 0.01
    """KL bound delta of each natural gradient step."""
    damping: Annotated[float, non_negative_number] = 0.1
    """Added to the Fisher matrix's diagonal."""
    cg_iterations: Annotated[int, positive] = 10
    """Conjugate gradient iterations per policy step."""
    backtracks: Annotated[int, positive] = 10
    """Line-search fractions tried: 1, 1/2, ..., 1/2^(backtracks-1) of the full step."""
    accept_ratio: Annotated[float, non_negative_number] = 0.1
    """Least actual / expected improvement the line search accepts."""
    critic_lr: Annotated[float, positive_number] = 3e-4
    """Adam learning rate of the critic."""
    critic_steps: Annotated[int | None, optional(positive)] = None
    """Critic Adam steps per iteration (per step h in per_step mode); default: 30 per_step (full batch), 100
    stationary (minibatches)."""
    critic_batch: Annotated[int, positive] = 256
    """Stationary mode: on-policy rows and offline rows (each) of one critic step."""
    fresh_critic_opt: Annotated[bool | None, optional(flag)] = None
    """Start each critic fit from a fresh Adam state; default: True per_step (as the authors' code), False
    stationary."""
    value_samples: Annotated[int, positive] = 10
    """Policy actions averaged in V(s) = mean Q(s, a)."""
    tau: Annotated[float, unit_interval] = 0.005
    """Stationary mode: Polyak rate of the critic's target copy, per critic step."""
    policy_hidden: Annotated[tuple[int, ...], optional_widths] = ()
    """Hidden widths of the policy mean (tanh); empty: 16 16 per_step, 64 64 stationary."""
    critic_hidden: Annotated[tuple[int, ...], optional_widths] = ()
    """Hidden widths of the critic; empty: 64 64 (tanh) per_step, 256 256 (ReLU) stationary."""
    init_log_std: Annotated[float, finite_number] = 0.0
    """Initial (state-independent) log standard deviation of the Gaussian policy."""
    clip_actions: Annotated[bool | None, optional(flag)] = None
    """Clip actions to the env's box when sending them; default: False per_step (raw env units, JAX envs only),
    True stationary (the normalised box)."""
    bootstrap_truncation: Annotated[bool, flag] = True
    """Stationary mode: bootstrap at time-limit truncations (per_step episodes end at the horizon: nothing to
    bootstrap)."""


@struct.dataclass
class HNPGState:
    policy: dict  # {"mean": MLP params, "log_std": [A]}; per_step: every leaf with a leading H axis
    critic: dict  # per_step: stacked over H
    critic_target: dict  # stationary: the Polyak copy; per_step: unused (the critic itself)
    critic_opt: optax.OptState  # per_step: stacked over H
    obs_mean: jax.Array  # the stationary input normalisation (0 and 1 in per_step mode)
    obs_std: jax.Array
    step_rows: jax.Array  # per_step + hybrid: [H, W] dataset rows of each step h (padded), else [1, 1]
    step_counts: jax.Array  # [H] rows of each step h
    iterations: jax.Array


class HNPG(OnPolicyAgent):
    """Pure HNPG functions bound to one config and env spec (the env as made, before `wrap_env`)."""

    def __init__(self, config: HNPGConfig, spec: EnvSpec):
        space = spec.action_space
        if not (isinstance(space, Box) and len(space.shape) == 1):
            raise ConfigError(f"--agent hnpg needs a flat Box action space; {spec.name} has {space}")
        self.spec = spec
        self.mode = _mode(config, spec)
        self.horizon = (config.horizon or spec.max_episode_steps) if self.mode == PER_STEP else 1
        if self.mode == PER_STEP and config.num_steps % self.horizon:
            raise ConfigError(f"--num-steps {config.num_steps} must be a multiple of the horizon {self.horizon} "
                              f"(per_step mode: every rollout holds whole episodes)")
        policy_hidden, critic_hidden, activation, critic_steps, fresh = DEFAULTS[self.mode]
        self.config = dataclasses.replace(
            config, policy_hidden=config.policy_hidden or policy_hidden,
            critic_hidden=config.critic_hidden or critic_hidden,
            critic_steps=config.critic_steps or critic_steps,
            fresh_critic_opt=fresh if config.fresh_critic_opt is None else config.fresh_critic_opt,
            clip_actions=(self.mode == STATIONARY) if config.clip_actions is None else config.clip_actions)
        self.uses_static_data = config.hybrid
        self.action_dim = space.shape[0]
        self.obs_dim = int(np.prod(spec.observation_space.shape))
        self.mean_net = MLP(self.config.policy_hidden, self.action_dim, nn.tanh)
        self.critic_net = MLP(self.config.critic_hidden, 1, activation)
        self.critic_tx = optax.adam(config.critic_lr)
        self.settings = NaturalStepSettings(config.max_kl, config.damping, config.cg_iterations, config.backtracks,
                                            config.accept_ratio)
        self.rollout_steps = config.num_envs * config.num_steps
        # Offline rows per iteration: per step h, min(|D_h|, N_on / H); stationary, N_on.
        self.offline_rows = self.rollout_steps // self.horizon

    # --- env and acting -------------------------------------------------------------------------------------
    def wrap_env(self, env):
        """Unclipped actions go through `RawActions` (JAX envs only); clipped ones through the normalised box."""
        if self.config.clip_actions or isinstance(env, RawActions):
            return env
        if not isinstance(env, JaxEnv):
            raise ConfigError(f"--agent hnpg sends raw unclipped actions in {self.mode} mode, which needs a JAX env; "
                              f"{env.spec.name} is a host env (pass --clip-actions True)")
        return RawActions(env)

    def initial_memory(self, num_envs: int) -> jax.Array:
        """The step counter h of each env (reset to 0 wherever an observation starts an episode)."""
        return jnp.zeros(num_envs, jnp.int32)

    def remember(self, params, memory, obs, first):
        """-> (h, features = [obs, h]): the observation flattened, its step within the episode appended."""
        h = jnp.where(first, 0, memory + 1)
        obs = obs.reshape((*obs.shape[: first.ndim], -1)).astype(jnp.float32)
        return h, jnp.concatenate([obs, h[..., None].astype(jnp.float32)], -1)

    def policy_params(self, state: HNPGState) -> dict:
        return {"policy": state.policy, "obs_mean": state.obs_mean, "obs_std": state.obs_std}

    def sample(self, params: dict, features: jax.Array, key: jax.Array, deterministic: bool = False):
        """Actions (agent units: raw env units per_step, the normalised box stationary) and their log-probs."""
        obs, h = self._split(features)
        obs = self._normalise(params, obs)
        if self.mode == PER_STEP:  # each row through the policy of its step
            mean, log_std = jax.vmap(self._gaussian)(jax.tree.map(lambda p: p[h], params["policy"]), obs)
        else:
            mean, log_std = self._gaussian(params["policy"], obs)
        noise = 0.0 if deterministic else _flat_draw(jax.random.normal, key, mean.shape)
        action = mean + jnp.exp(log_std) * noise
        return action, _log_prob(mean, log_std, action)

    def act(self, params, memory, obs, first, key, deterministic=False):
        memory, features = self.remember(params, memory, obs, first)
        return memory, self.sample(params, features, key, deterministic)[0]

    def evaluation_metrics(self, returns) -> dict[str, float]:
        if self.mode != PER_STEP:
            return {}
        return {"success_rate": float(np.mean(np.asarray(returns) >= SUCCESS_RETURN))}

    def _split(self, features):
        return features[..., :-1], jnp.clip(features[..., -1].astype(jnp.int32), 0, self.horizon - 1)

    def _gaussian(self, policy: dict, obs: jax.Array):
        mean = self.mean_net.apply(policy["mean"], obs)
        return mean, jnp.broadcast_to(policy["log_std"], mean.shape)

    @staticmethod
    def _normalise(consts, obs):
        return (obs - consts["obs_mean"]) / consts["obs_std"]

    # --- state --------------------------------------------------------------------------------------------------
    def init(self, key: jax.Array) -> HNPGState:
        if self.config.hybrid:
            raise TypeError("HNPG's hybrid learner state depends on its dataset: use init_with_data(key, static)")
        return self._init(key, np.zeros(self.obs_dim), np.ones(self.obs_dim), np.zeros((1, 1)), np.zeros(1))

    def init_with_data(self, key: jax.Array, static: dict[str, replay.ReplayState]) -> HNPGState:
        if not self.config.hybrid:
            return self.init(key)
        data = static[DATASET]
        size = int(data.size)
        obs = np.asarray(data.data.obs[:size], np.float64).reshape(size, -1)
        if self.mode == STATIONARY:
            return self._init(key, obs.mean(0), np.maximum(obs.std(0), STD_FLOOR), np.zeros((1, 1)), np.zeros(1))
        rows, counts = step_row_tables(np.asarray(data.data.first[:size]), self.horizon, self.offline_rows)
        if counts.sum() == 0:
            raise ConfigError("the dataset holds no rows within the horizon (per_step mode reads whole episodes)")
        return self._init(key, np.zeros(self.obs_dim), np.ones(self.obs_dim), rows, counts)

    def _init(self, key, obs_mean, obs_std, rows, counts) -> HNPGState:
        policy_key, critic_key = jax.random.split(key)
        if self.mode == PER_STEP:
            policy = jax.vmap(self._init_policy)(jax.random.split(policy_key, self.horizon))
            critic = jax.vmap(self._init_critic)(jax.random.split(critic_key, self.horizon))
            critic_opt = jax.vmap(self.critic_tx.init)(critic)
        else:
            policy, critic = self._init_policy(policy_key), self._init_critic(critic_key)
            critic_opt = self.critic_tx.init(critic)
        f32 = lambda x: jnp.asarray(x, jnp.float32)
        return HNPGState(policy, critic, critic, critic_opt, f32(obs_mean), f32(obs_std), jnp.asarray(rows, jnp.int32),
                         jnp.asarray(counts, jnp.int32), jnp.zeros((), jnp.int32))

    def _init_policy(self, key):
        mean = _scale_output(self.mean_net.init(key, jnp.zeros((1, self.obs_dim))))
        return {"mean": mean, "log_std": jnp.full((self.action_dim,), self.config.init_log_std, jnp.float32)}

    def _init_critic(self, key):
        return _scale_output(self.critic_net.init(key, jnp.zeros((1, self.obs_dim + self.action_dim))))

    # --- shared pieces --------------------------------------------------------------------------------------------
    def _q(self, critic, obs, action):
        return self.critic_net.apply(critic, jnp.concatenate([obs, action], -1))[..., 0]

    def _draw(self, policy, obs, key):
        """One action per row of `obs` (already normalised) from a single policy, and its log-prob."""
        mean, log_std = self._gaussian(policy, obs)
        action = mean + jnp.exp(log_std) * _flat_draw(jax.random.normal, key, mean.shape)
        return action, _log_prob(mean, log_std, action)

    def _value(self, policy, critic, obs, key):
        """V(s) = mean over `value_samples` policy actions of Q(s, a)."""
        keys = jax.random.split(key, self.config.value_samples)
        return jax.vmap(lambda k: self._q(critic, obs, self._draw(policy, obs, k)[0]))(keys).mean(0)

    def _offline_action(self, action):
        """Dataset actions (normalised units) in the agent's: raw env units when actions are not clipped."""
        return action if self.config.clip_actions else to_env_action(self.spec.action_space, action)

    def _policy_step(self, policy, batch: dict):
        """One natural gradient step of one policy on rows `obs, action, advantage, weight` (weight 0: padding)."""
        weight = batch["weight"] / jnp.maximum(batch["weight"].sum(), 1.0)
        old_mean, old_log_std = jax.lax.stop_gradient(self._gaussian(policy, batch["obs"]))
        old_logp = _log_prob(old_mean, old_log_std, batch["action"])

        def surrogate(candidate):
            mean, log_std = self._gaussian(candidate, batch["obs"])
            ratio = jnp.exp(_log_prob(mean, log_std, batch["action"]) - old_logp)
            return -jnp.sum(weight * batch["advantage"] * ratio)

        def kl(candidate):
            mean, log_std = self._gaussian(candidate, batch["obs"])
            return jnp.sum(weight * _gaussian_kl(old_mean, old_log_std, mean, log_std))

        new_policy, metrics = natural_gradient_step(surrogate, kl, policy, self.settings)
        return new_policy, {**metrics, "kl": kl(new_policy)}

    # --- learning -------------------------------------------------------------------------------------------------
    def update(self, state: HNPGState, rollout: dict, memory, key: jax.Array) -> tuple[HNPGState, dict]:
        """One iteration on the rollout alone (the NPG baseline, --no-hybrid)."""
        if self.config.hybrid:
            raise TypeError("hybrid HNPG updates from its dataset too: the loop calls update_with_data")
        return self._iterate(state, rollout, None, key)

    def update_with_data(self, state, rollout, memory, static, key):
        return self._iterate(state, rollout, static[DATASET] if self.config.hybrid else None, key)

    def _iterate(self, state, rollout, data, key):
        if self.mode == PER_STEP:
            state, metrics = self._per_step_iteration(state, rollout, data, key)
        else:
            state, metrics = self._stationary_iteration(state, rollout, data, key)
        return state.replace(iterations=state.iterations + 1), metrics

    # --- per_step mode --------------------------------------------------------------------------------------------
    def _by_step(self, x):
        """[T, B, ...] rollout rows -> [H, T/H * B, ...] grouped by step h (rollouts hold whole aligned episodes)."""
        t, b = x.shape[:2]
        x = x.reshape((t // self.horizon, self.horizon, b, *x.shape[2:]))
        return jnp.swapaxes(x, 0, 1).reshape((self.horizon, -1, *x.shape[3:]))

    def _by_time(self, x, b: int):
        """The inverse of `_by_step`."""
        x = x.reshape((self.horizon, -1, b, *x.shape[2:]))
        return jnp.swapaxes(x, 0, 1).reshape((-1, b, *x.shape[3:]))

    def _per_step_iteration(self, state: HNPGState, rollout: dict, data, key):
        sample_key, critic_key, value_key, offline_key = jax.random.split(key, 4)
        num_envs = rollout["reward"].shape[1]
        obs, h = self._split(rollout["feat"])
        # Episodes end at the horizon: every end is final, so the reward-to-go is the undiscounted Monte-Carlo sum.
        done = rollout["done"]
        returns = gae(rollout["reward"], jnp.zeros_like(rollout["reward"]), jnp.zeros_like(rollout["reward"]),
                      done, done, 1.0, 1.0)[0]
        on = {"obs": self._by_step(obs), "action": self._by_step(rollout["action"]), "target": self._by_step(returns)}
        misaligned = jnp.sum(self._by_step(h) != jnp.arange(self.horizon)[:, None])
        off = self._offline_rows(state, data, sample_key) if data is not None else None
        critic, critic_opt, critic_loss = self._fit_step_critics(state, on, off, critic_key)

        value_keys = jax.random.split(value_key, self.horizon)
        values = jax.vmap(self._value)(state.policy, critic, on["obs"], value_keys)
        values_t = self._by_time(values, num_envs)
        next_values = jnp.concatenate([values_t[1:], jnp.zeros_like(values_t[:1])])
        advantages, _ = gae(rollout["reward"], values_t, next_values, done, done, 1.0, self.config.gae_lambda)
        batch = {"obs": on["obs"], "action": on["action"], "advantage": self._by_step(advantages),
                 "weight": jnp.ones_like(on["target"])}
        if off is not None:
            extra = jax.vmap(self._offline_advantages)(state.policy, critic, off["obs"],
                                                       jax.random.split(offline_key, self.horizon))
            batch = jax.tree.map(lambda a, b: jnp.concatenate([a, b], 1), batch, {**extra, "weight": off["valid"]})
        policy, step_metrics = jax.vmap(self._policy_step)(state.policy, batch)
        state = state.replace(policy=policy, critic=critic, critic_target=critic, critic_opt=critic_opt)
        metrics = {**jax.tree.map(jnp.mean, step_metrics), "critic_loss": critic_loss.mean(),
                   "value_mean": values.mean(), "advantage_mean": advantages.mean(),
                   "misaligned_steps": misaligned.astype(jnp.float32)}
        if off is not None:
            metrics["offline_rows"] = off["valid"].sum(1).mean()
        return state, metrics

    def _offline_rows(self, state: HNPGState, data: replay.ReplayState, key):
        """Per step h, min(|D_h|, N_on / H) of its dataset rows, drawn without replacement -> [H, N_on / H] each
        (`valid` marks the drawn ones; the rest is padding)."""
        n = self.offline_rows
        width = state.step_rows.shape[1]
        scores = _flat_draw(jax.random.uniform, key, state.step_rows.shape)
        scores = jnp.where(jnp.arange(width)[None] < state.step_counts[:, None], scores, 2.0)
        slots = jnp.argsort(scores, axis=1)[:, :n]
        rows = jnp.take_along_axis(state.step_rows, slots, 1)
        valid = (jnp.arange(n)[None] < jnp.minimum(state.step_counts, n)[:, None]).astype(jnp.float32)
        picked = jax.tree.map(lambda x: x[rows], data.data)
        flat = lambda x: x.reshape((*x.shape[:2], -1)).astype(jnp.float32)
        return {"obs": flat(picked.obs), "action": self._offline_action(picked.action.astype(jnp.float32)),
                "reward": picked.reward.astype(jnp.float32), "next_obs": flat(picked.next_obs), "valid": valid}

    def _fit_step_critics(self, state: HNPGState, on: dict, off: dict | None, key):
        """Refit Q_{H-1}, ..., Q_0 in turn (a reverse scan): Q_h's offline target reads the refit Q_{h+1}."""
        horizon = self.horizon
        next_policy = jax.tree.map(lambda p: jnp.roll(p, -1, axis=0), state.policy)  # pi_{h+1} at index h

        def fit(q_next, step):
            h, critic, opt_state, policy_next, on_h, off_h, step_key = step
            if off_h is not None:
                next_action = self._draw(policy_next, off_h["next_obs"], step_key)[0]
                bootstrap = jnp.where(h == horizon - 1, 0.0, self._q(q_next, off_h["next_obs"], next_action))
                off_h = {**off_h, "target": off_h["reward"] + bootstrap}
            if self.config.fresh_critic_opt:
                opt_state = self.critic_tx.init(critic)
            critic, opt_state, loss = self._critic_steps(critic, opt_state, on_h, off_h)
            return critic, (critic, opt_state, loss)

        first = jax.tree.map(lambda p: p[horizon - 1], state.critic)
        steps = (jnp.arange(horizon), state.critic, state.critic_opt, next_policy, on, off,
                 jax.random.split(key, horizon))
        _, (critic, critic_opt, loss) = jax.lax.scan(fit, first, steps, reverse=True)
        return critic, critic_opt, loss

    def _critic_steps(self, critic, opt_state, on: dict, off: dict | None):
        """`critic_steps` full-batch Adam steps on mean_on (Q - G)^2 + mean_off (Q - y)^2."""

        def loss(params):
            value = jnp.mean((self._q(params, on["obs"], on["action"]) - on["target"]) ** 2)
            if off is None:
                return value
            error = (self._q(params, off["obs"], off["action"]) - off["target"]) ** 2
            return value + jnp.sum(off["valid"] * error) / jnp.maximum(off["valid"].sum(), 1.0)

        def step(carry, _):
            params, opt_state = carry
            value, grads = jax.value_and_grad(loss)(params)
            updates, opt_state = self.critic_tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), value

        (critic, opt_state), losses = jax.lax.scan(step, (critic, opt_state), None, length=self.config.critic_steps)
        return critic, opt_state, losses[-1]

    def _offline_advantages(self, policy, critic, obs, key):
        """Offline states with fresh actions a~ ~ pi(s) and A = Q(s, a~) - V(s)."""
        action_key, value_key = jax.random.split(key)
        action = self._draw(policy, obs, action_key)[0]
        advantage = self._q(critic, obs, action) - self._value(policy, critic, obs, value_key)
        return {"obs": obs, "action": action, "advantage": advantage}

    # --- stationary mode ------------------------------------------------------------------------------------------
    def _stationary_iteration(self, state: HNPGState, rollout: dict, data, key):
        c = self.config
        boot_key, critic_key, value_key, offline_key = jax.random.split(key, 4)
        consts = {"obs_mean": state.obs_mean, "obs_std": state.obs_std}
        norm = lambda features: self._normalise(consts, self._split(features)[0])
        obs, last, boot = norm(rollout["feat"]), norm(rollout["last_feat"]), norm(rollout.get("boot_feat",
                                                                                             rollout["feat"]))
        terminated, done = rollout["terminated"], rollout["done"]
        if not c.bootstrap_truncation:
            terminated = done
        truncated = jnp.logical_and(done, jnp.logical_not(terminated))
        returns = self._regression_targets(state, rollout["reward"], boot, last, truncated, terminated, done,
                                           boot_key)
        on = {"obs": obs.reshape((-1, obs.shape[-1])), "action": rollout["action"].reshape((-1, self.action_dim)),
              "target": returns.reshape(-1)}
        critic, target, critic_opt, critic_loss = self._stationary_critic(state, on, data, consts, critic_key)

        keys = jax.random.split(value_key, 3)
        value = lambda x, k: self._value(state.policy, critic, x.reshape((-1, x.shape[-1])), k).reshape(x.shape[:-1])
        values, last_values = value(obs, keys[0]), value(last, keys[1])
        next_values = jnp.concatenate([values[1:], last_values[None]])
        if c.bootstrap_truncation:
            next_values = jnp.where(truncated, value(boot, keys[2]), next_values)
        advantages, _ = gae(rollout["reward"], values, next_values, terminated, done, c.gamma, c.gae_lambda)
        batch = {"obs": on["obs"], "action": on["action"], "advantage": advantages.reshape(-1),
                 "weight": jnp.ones(on["target"].shape)}
        if data is not None:
            rows = replay.sample(data, offline_key, self.offline_rows)
            off_obs = self._normalise(consts, rows.obs.reshape((self.offline_rows, -1)).astype(jnp.float32))
            extra = self._offline_advantages(state.policy, critic, off_obs, jax.random.fold_in(offline_key, 1))
            batch = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), batch,
                                 {**extra, "weight": jnp.ones(self.offline_rows)})
        policy, step_metrics = self._policy_step(state.policy, batch)
        state = state.replace(policy=policy, critic=critic, critic_target=target, critic_opt=critic_opt)
        return state, {**step_metrics, "critic_loss": critic_loss, "value_mean": values.mean(),
                       "advantage_mean": advantages.mean()}

    def _regression_targets(self, state, reward, boot, last, truncated, terminated, done, key):
        """Discounted reward-to-go, bootstrapped with the target critic's V at truncations and where the rollout
        cuts an episode off; terminations end it."""
        boot_key, last_key = jax.random.split(key)
        value = lambda x, k: self._value(state.policy, state.critic_target, x.reshape((-1, x.shape[-1])),
                                         k).reshape(x.shape[:-1])
        tail = jnp.zeros_like(reward)
        if self.config.bootstrap_truncation:
            tail = jnp.where(truncated, value(boot, boot_key), tail)
        tail = tail.at[-1].set(jnp.where(done[-1], tail[-1], value(last, last_key)))
        return gae(reward, jnp.zeros_like(reward), tail, terminated, done, self.config.gamma, 1.0)[0]

    def _stationary_critic(self, state, on: dict, data, consts, key):
        """`critic_steps` Adam steps, each on `critic_batch` on-policy rows (regression on the reward-to-go) and
        as many offline rows (TD towards r + gamma (1 - terminated) Qbar(s', a'), a' ~ pi(s')), Polyak target."""
        c = self.config
        opt_state = self.critic_tx.init(state.critic) if c.fresh_critic_opt else state.critic_opt

        def loss(params, target, on_rows, off_rows, action_key):
            value = jnp.mean((self._q(params, on_rows["obs"], on_rows["action"]) - on_rows["target"]) ** 2)
            if off_rows is None:
                return value
            obs = self._normalise(consts, off_rows.obs.reshape((c.critic_batch, -1)).astype(jnp.float32))
            next_obs = self._normalise(consts, off_rows.next_obs.reshape((c.critic_batch, -1)).astype(jnp.float32))
            next_action = self._draw(state.policy, next_obs, action_key)[0]
            not_terminal = 1.0 - off_rows.terminated.astype(jnp.float32)
            y = off_rows.reward + c.gamma * not_terminal * self._q(target, next_obs, next_action)
            action = self._offline_action(off_rows.action.astype(jnp.float32))
            error = self._q(params, obs, action) - jax.lax.stop_gradient(y)
            return value + jnp.mean(error**2)

        def step(carry, step_key):
            params, target, opt_state = carry
            on_key, off_key, action_key = jax.random.split(step_key, 3)
            picks = jax.random.randint(on_key, (c.critic_batch,), 0, on["target"].shape[0])
            on_rows = jax.tree.map(lambda x: x[picks], on)
            off_rows = replay.sample(data, off_key, c.critic_batch) if data is not None else None
            value, grads = jax.value_and_grad(loss)(params, target, on_rows, off_rows, action_key)
            updates, opt_state = self.critic_tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            target = optax.incremental_update(params, target, c.tau)
            return (params, target, opt_state), value

        (critic, target, opt_state), losses = jax.lax.scan(step, (state.critic, state.critic_target, opt_state),
                                                           jax.random.split(key, c.critic_steps))
        return critic, target, opt_state, losses.mean()


def _mode(config: HNPGConfig, spec: EnvSpec) -> str:
    if config.mode == STATIONARY and config.horizon is not None:
        raise ConfigError("--horizon sets per_step mode's horizon; drop it or pass --mode per_step")
    if config.mode != "auto":
        return config.mode
    fixed = spec.name.startswith(FIXED_HORIZON_ENVS)
    return PER_STEP if fixed or config.horizon is not None else STATIONARY


def step_row_tables(first: np.ndarray, horizon: int, min_width: int) -> tuple[np.ndarray, np.ndarray]:
    """Dataset rows grouped by their step within the episode: (rows [H, W] padded with 0, counts [H]), W at least
    `min_width`. Rows are whole episodes in order, `first` marking each start; rows past the horizon are left out."""
    index = np.arange(len(first))
    start = np.maximum.accumulate(np.where(first, index, 0)) if len(first) else index
    step = index - start
    groups = [index[step == h] for h in range(horizon)]
    counts = np.array([len(g) for g in groups])
    rows = np.zeros((horizon, max(min_width, counts.max(initial=0), 1)), np.int64)
    for h, group in enumerate(groups):
        rows[h, : len(group)] = group
    return rows, counts


def _flat_draw(sampler, key, shape):
    """`sampler(key, shape)` drawn flat and reshaped: with partitionable threefry, XLA on CPU takes seconds to compile
    a draw of a rank-2+ shape (about 1 s at rank 2, 6 s at rank 4) and a fraction of a second for a flat one."""
    return sampler(key, (int(np.prod(shape)),)).reshape(shape)


def _scale_output(params: dict) -> dict:
    """The output layer's weights times OUTPUT_SCALE (its bias is zero already)."""
    inner = dict(params["params"])
    last = max(inner, key=lambda name: int(name.split("_")[-1]))
    inner[last] = {**inner[last], "kernel": inner[last]["kernel"] * OUTPUT_SCALE}
    return {"params": inner}


def _log_prob(mean, log_std, action):
    z = (action - mean) * jnp.exp(-log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi), -1)


def _gaussian_kl(mean_p, log_std_p, mean_q, log_std_q):
    """KL(p || q) of diagonal Gaussians, summed over the action dimensions."""
    var_p, var_q = jnp.exp(2 * log_std_p), jnp.exp(2 * log_std_q)
    return jnp.sum(log_std_q - log_std_p + (var_p + (mean_p - mean_q) ** 2) / (2 * var_q) - 0.5, -1)
