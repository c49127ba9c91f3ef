"""METRA: unsupervised skill discovery with a temporal-distance representation (Park, Rybkin, Levine, "METRA:
Scalable Unsupervised RL with Metric-Aware Abstraction", ICLR 2024, arXiv 2310.08887).

No extrinsic reward is used (the env's reward is only logged, as the episode return). A representation
`phi: S -> R^D` is trained so that one env step moves it by about one unit at most, and each skill `z` is rewarded
for moving `phi` along `z`. One gradient step, on a replay batch `(s, a, s', z)`:

1. `Delta = phi(s') - phi(s)`; `r = Delta . z~`, where `z~ = z` for continuous (unit) skills and the centred
   one-hot `(z - mean(z)) D / (D - 1)` for discrete ones; the slack `c = min(eps, 1 - mean_d Delta_d^2)` (a mean
   over the D latent dimensions, so the bound is `|Delta| <= sqrt(D)`), or with `--dual-dist l2` the Euclidean
   bound `c = min(eps, mean_d (s' - s)_d^2 - mean_d Delta_d^2)`;
2. `phi` descends `-mean(r + lambda c)` with the multiplier held fixed; then `log lambda` descends
   `log lambda * mean(c)`, so lambda rises while the constraint is violated (`c < 0`) and falls otherwise;
3. the reward is recomputed with the *updated* `phi` (never stored in the replay), and SAC (agents/sac.py) takes
   its critic, actor, temperature and target steps on `[s, z] -> [s', z]` with that reward. The actor's hidden
   layers use tanh and the entropy target is `-|A| / 2`.

A skill is drawn per episode when it starts (`first`), kept in the acting carry, stored as the transition extra
`skill` and fed to the actor and critics as a plain one-hot (discrete) or unit vector (continuous).
`--method diayn` is the DIAYN baseline in the same loop: `phi` read as a skill posterior `q(z | s')` (a Gaussian
with a learned state-independent std for continuous skills, a softmax for discrete ones), reward `log q(z | s')`,
skills `z ~ N(0, I)` not normalised, no dual term.

Experience comes in epochs: `num_envs` episodes side by side, then `epoch_updates` gradient steps (the loop's
`train_every` is one episode, its update ratio `epoch_updates / (num_envs x T)`). Evaluation adds policy state
coverage over 48 deterministic skill rollouts (distinct 1x1 cells of the coverage coordinates), the same for a
uniform random policy, total coverage of the replay, zero-shot goal reaching (the skill re-chosen at every step
from `phi(goal) - phi(s)`) and a picture of the skill trajectories. See docs/metra.md.
"""

from __future__ import annotations

import colorsys
import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from agents.networks import MLP, TanhGaussianActor
from agents.sac import SAC, SACConfig, SACState
from core.actions import to_env_action
from core.protocols import Buffers
from core.rollout.evaluation import trajectories
from core.transitions import Transition
from core.validation import (
    ConfigError,
    Range,
    flag,
    non_negative_number,
    one_of,
    optional,
    optional_widths,
    positive,
    positive_number,
)
from envs.protocol import EnvSpec
from envs.registry import parse_env_string
from envs.spaces import Box


class EnvPreset(NamedTuple):
    """What METRA assumes of a known env: make options, which observation entries are the position
    (the coverage coordinates), and the zero-shot goals' box half-width and success radius."""

    options: dict
    coverage_dims: tuple[int, ...]
    goal_range: float
    goal_radius: float


_ANT = {"exclude_current_positions_from_observation": False, "terminate_when_unhealthy": False}
# Keyed by the env's spec name; the options keep the position in the observation and end episodes at 200 steps
# without terminations (a time limit, bootstrapped through), as the paper's Ant and HalfCheetah. Brax's ant ends an
# episode at a physics blow-up, an observation entry beyond 1,000 (uniform random play stays below about 110; a
# skill policy can drive the solver into flinging the body, and METRA would be rewarded for that jump).
ENV_PRESETS: dict[str, EnvPreset] = {
    "PointPlane-v0": EnvPreset({}, (0, 1), 15.0, 1.5),
    "Ant-v5": EnvPreset({**_ANT, "include_cfrc_ext_in_observation": False, "max_episode_steps": 200}, (0, 1),
                        50.0, 3.0),
    "HalfCheetah-v5": EnvPreset({"exclude_current_positions_from_observation": False, "max_episode_steps": 200},
                                (0,), 100.0, 3.0),
    "brax:ant": EnvPreset({**_ANT, "episode_length": 200, "max_abs_obs": 1000.0}, (0, 1), 50.0, 3.0),
}
DEFAULT_GOAL_RANGE, DEFAULT_GOAL_RADIUS = 10.0, 1.0


def preset_name(env_string: str) -> str | None:
    """The ENV_PRESETS key an env string builds, or None: `gym:Ant-v5` -> `Ant-v5`, `brax:ant` -> `brax:ant`."""
    family, env_id, _ = parse_env_string(env_string)
    name = {"gym": env_id, "brax": f"brax:{env_id}", "jax": env_id}.get(family)
    if family == "jax" and name == "PointPlane":
        name = "PointPlane-v0"
    return name if name in ENV_PRESETS else None


def env_preset(env_string: str) -> dict:
    """Make options for `env_string` under METRA (the registry's env preset); options the string sets win."""
    name = preset_name(env_string)
    if name is None:
        return {}
    given = parse_env_string(env_string)[2]
    return {key: value for key, value in ENV_PRESETS[name].options.items() if key not in given}


coverage_indices = Range("a tuple of integers", lambda v: isinstance(v, tuple) and all(
    isinstance(i, int) and not isinstance(i, bool) for i in v), "one or more non-negative integers",
                         lambda v: len(v) > 0 and min(v) >= 0)


@dataclass(frozen=True)
class METRAConfig(SACConfig):
    """METRA hyperparameters (the paper's state-based defaults): SAC's on [obs, skill], plus phi and the dual."""

    method: Annotated[Literal["metra", "diayn"], one_of("metra", "diayn")] = "metra"
    """metra: temporal-distance representation with a dual constraint; diayn: the DIAYN baseline (reward
    log q(z|s'), no constraint)."""
    skill_dim: Annotated[int, positive] = 2
    """D: the dimension of a continuous skill, or the number of discrete skills (at least 2)."""
    discrete_skills: Annotated[bool, flag] = False
    """Discrete one-hot skills (e.g. 16 for HalfCheetah) instead of continuous ones."""
    unit_skills: Annotated[bool | None, optional(flag)] = None
    """Continuous skills normalised to unit length; default: yes for metra, no for diayn (z ~ N(0, I))."""
    dual_dist: Annotated[Literal["one", "l2"], one_of("one", "l2")] = "one"
    """one: |phi(s') - phi(s)| bounded by one step (temporal distance); l2: by the Euclidean |s' - s|."""
    phi_hidden: Annotated[tuple[int, ...], optional_widths] = ()
    """Widths of phi's hidden layers; empty: those of --hidden."""
    phi_lr: Annotated[float, positive_number] = 1e-4
    """Adam learning rate of phi."""
    dual_lr: Annotated[float, positive_number] = 1e-4
    """Adam learning rate of the log of the dual variable lambda."""
    init_dual: Annotated[float, positive_number] = 30.0
    """Initial dual variable lambda."""
    dual_slack: Annotated[float, non_negative_number] = 1e-3
    """eps: the slack's cap, min(eps, 1 - mean_d Delta_d^2)."""
    actor_activation: Annotated[Literal["tanh", "relu"], one_of("tanh", "relu")] = "tanh"
    """Activation of the actor's hidden layers (phi and the critics use ReLU)."""
    epoch_updates: Annotated[int, positive] = 50
    """G: gradient steps after each epoch of num_envs episodes."""
    coverage_dims: Annotated[tuple[int, ...] | None, optional(coverage_indices)] = None
    """Observation indices whose 1x1 cells count for coverage and goals; default: the env preset's (the position:
    x, y of Ant and PointPlane, x of HalfCheetah), else the first two."""
    eval_skills: Annotated[int, positive] = 48
    """Deterministic skill rollouts per evaluation (coverage, the skill picture)."""
    goals: Annotated[int, positive] = 50
    """Zero-shot goals per evaluation, uniform in [-goal_range, goal_range] over the coverage coordinates."""
    goal_range: Annotated[float | None, optional(positive_number)] = None
    """Half-width of the goal box; default: the env preset's (15 PointPlane, 50 Ant, 100 HalfCheetah), else 10."""
    goal_radius: Annotated[float | None, optional(positive_number)] = None
    """A goal counts as reached if the final distance is below this; default: the preset's (1.5 PointPlane, 3 Ant
    and HalfCheetah), else 1."""
    # SAC's fields with METRA's defaults
    hidden: tuple[int, ...] = (1024, 1024)
    """Widths of the hidden layers of the actor, of each critic and (by default) of phi."""
    actor_lr: float = 1e-4
    """Adam learning rate of the actor."""
    critic_lr: float = 1e-4
    """Adam learning rate of the critics."""
    alpha_lr: float = 1e-4
    """Adam learning rate of the log-temperature."""
    init_alpha: float = 0.01
    """Initial entropy temperature (learned)."""
    target_entropy_scale: float = 0.5
    """Target entropy is -scale * action_dim (METRA: -|A|/2)."""
    learning_starts: int = 10_000
    """Env steps (uniform random actions, skills drawn as usual) before the first update."""
    num_envs: Annotated[int, positive] = 8
    """Episodes per epoch, stepped side by side."""
    updates_per_step: Annotated[float | None, optional(positive_number)] = None
    """Gradient steps per env step; default: epoch_updates / (num_envs x episode length)."""
    train_every: Annotated[int | None, optional(positive)] = None
    """Loop iterations between bursts of updates; default: one episode (an epoch)."""


@struct.dataclass
class METRAState(SACState):
    phi: dict  # {"net": MLP params, "log_std": [D]} (log_std: DIAYN's posterior std; unused by METRA)
    phi_opt: optax.OptState
    log_dual: jax.Array
    dual_opt: optax.OptState


def resolved(config: METRAConfig, spec: EnvSpec) -> METRAConfig:
    """The epoch schedule in place of the None defaults: a burst of `epoch_updates` steps after each episode."""
    episode = spec.max_episode_steps
    ratio = config.epoch_updates / (config.num_envs * episode)
    return dataclasses.replace(
        config,
        updates_per_step=ratio if config.updates_per_step is None else config.updates_per_step,
        train_every=episode if config.train_every is None else config.train_every,
        unit_skills=(config.method == "metra") if config.unit_skills is None else config.unit_skills)


class METRA(SAC):
    """SAC on [obs, skill] with the reward of a representation trained alongside it."""

    def __init__(self, config: METRAConfig, spec: EnvSpec):
        if not isinstance(spec.action_space, Box):
            raise ValueError(f"METRA needs a continuous (Box) action space; {spec.name} has "
                             f"{type(spec.action_space).__name__}")
        if config.discrete_skills and config.skill_dim < 2:
            raise ConfigError(f"--skill-dim must be at least 2 with --discrete-skills, got {config.skill_dim}")
        config = resolved(config, spec)
        super().__init__(config, spec)
        self.env_obs_dim = self.obs_dim
        self.obs_dim = self.env_obs_dim + config.skill_dim  # SAC's networks see [obs, skill]
        activation = {"tanh": nn.tanh, "relu": nn.relu}[config.actor_activation]
        self.actor_net = TanhGaussianActor(config.hidden, self.action_dim, activation)
        self.phi_net = MLP(config.phi_hidden or config.hidden, config.skill_dim)
        self.phi_tx = optax.adam(config.phi_lr)
        self.dual_tx = optax.adam(config.dual_lr)
        preset = ENV_PRESETS.get(spec.name)
        default_dims = preset.coverage_dims if preset else tuple(range(min(2, self.env_obs_dim)))
        self.coverage_dims = config.coverage_dims or default_dims
        if max(self.coverage_dims) >= self.env_obs_dim:
            raise ConfigError(f"--coverage-dims {' '.join(map(str, self.coverage_dims))} index past the "
                              f"{self.env_obs_dim} observation entries of {spec.name}")
        self.goal_range = config.goal_range or (preset.goal_range if preset else DEFAULT_GOAL_RANGE)
        self.goal_radius = config.goal_radius or (preset.goal_radius if preset else DEFAULT_GOAL_RADIUS)
        self._random_coverage: dict = {}  # env -> the uniform random policy's coverage (it never changes)

    def init(self, key: jax.Array) -> METRAState:
        """The learner state, built in one compiled call (eager flax inits compile every op on its own)."""
        return self._init(key)

    @functools.partial(jax.jit, static_argnums=0)
    def _init(self, key: jax.Array) -> METRAState:
        sac_key, phi_key = jax.random.split(key)
        sac = super().init(sac_key)
        phi = {"net": self.phi_net.init(phi_key, jnp.zeros((1, self.env_obs_dim))),
               "log_std": jnp.zeros(self.config.skill_dim)}
        log_dual = jnp.log(jnp.asarray(self.config.init_dual, jnp.float32))
        fields = {f.name: getattr(sac, f.name) for f in dataclasses.fields(sac)}
        return METRAState(**fields, phi=phi, phi_opt=self.phi_tx.init(phi), log_dual=log_dual,
                          dual_opt=self.dual_tx.init(log_dual))

    # --- skills ---------------------------------------------------------------------------------------------
    def sample_skills(self, key: jax.Array, count: int) -> jax.Array:
        """`[count, D]`: one-hot of a uniform index, or N(0, I) (normalised to unit length for METRA)."""
        d = self.config.skill_dim
        if self.config.discrete_skills:
            return jax.nn.one_hot(jax.random.randint(key, (count,), 0, d), d)
        z = jax.random.normal(key, (count, d))
        return z / jnp.linalg.norm(z, axis=-1, keepdims=True) if self.config.unit_skills else z

    def reward_skills(self, skill: jax.Array) -> jax.Array:
        """The skill as the reward sees it: discrete one-hots centred, +1 on the index and -1/(D-1) elsewhere."""
        if not self.config.discrete_skills:
            return skill
        d = self.config.skill_dim
        return (skill - skill.mean(axis=-1, keepdims=True)) * d / (d - 1)

    @staticmethod
    def learner_input(obs: jax.Array, skill: jax.Array) -> jax.Array:
        """What the actor and critics see: `[obs, skill]`, the plain one-hot for a discrete skill."""
        return jnp.concatenate([obs, skill.astype(obs.dtype)], axis=-1)

    def initial_carry(self, num_envs: int) -> jax.Array:
        return jnp.zeros((num_envs, self.config.skill_dim))  # replaced at the first step of every episode

    def transition_extras(self) -> dict:
        return {"skill": jnp.zeros(self.config.skill_dim)}

    def act_with_carry(self, state, carry, obs, first, key, deterministic: bool = False):
        """A fresh skill where an episode starts, the episode's skill elsewhere; stored as the `skill` extra."""
        skill_key, act_key = jax.random.split(key)
        skill = jnp.where(first[:, None], self.sample_skills(skill_key, obs.shape[0]), carry)
        action = self.act(state, self.learner_input(obs, skill), act_key, deterministic)
        return skill, action, {"skill": skill}

    # --- the representation and the reward ------------------------------------------------------------------
    def phi(self, phi_params: dict, obs: jax.Array) -> jax.Array:
        return self.phi_net.apply(phi_params["net"], obs)

    def intrinsic_reward(self, phi_params: dict, batch: Transition) -> jax.Array:
        """`[B]`: METRA's `(phi(s') - phi(s)) . z~`, or DIAYN's `log q(z | s')`."""
        if self.config.method == "diayn":
            return self._log_posterior(phi_params, batch["next_obs"], batch["skill"])
        return self._metra_reward(self._delta(phi_params, batch), batch["skill"])

    def _delta(self, phi_params: dict, batch: Transition) -> jax.Array:
        """`[B, D]`: phi(s') - phi(s), both through one forward pass."""
        both = self.phi(phi_params, jnp.concatenate([batch["obs"], batch["next_obs"]]))
        now, after = jnp.split(both, 2)
        return after - now

    def _metra_reward(self, delta: jax.Array, skill: jax.Array) -> jax.Array:
        return jnp.sum(delta * self.reward_skills(skill), axis=-1)

    def _log_posterior(self, phi_params: dict, obs: jax.Array, skill: jax.Array) -> jax.Array:
        out = self.phi(phi_params, obs)
        if self.config.discrete_skills:
            return jnp.sum(jax.nn.log_softmax(out) * skill, axis=-1)
        log_std = phi_params["log_std"]
        logp = -0.5 * ((skill - out) / jnp.exp(log_std)) ** 2 - log_std - 0.5 * jnp.log(2 * jnp.pi)
        return logp.sum(axis=-1)

    def slack(self, delta: jax.Array, batch: Transition) -> tuple[jax.Array, jax.Array]:
        """`(c [B], mean_d Delta_d^2 [B])` for `delta = phi(s') - phi(s)`: the constraint's slack, negative where
        it is violated, and the mean squared phi-distance of the adjacent states."""
        phi_dist = jnp.mean(delta**2, axis=-1)
        bound = 1.0 if self.config.dual_dist == "one" else jnp.mean((batch["next_obs"] - batch["obs"]) ** 2, -1)
        return jnp.minimum(self.config.dual_slack, bound - phi_dist), phi_dist

    def phi_loss(self, phi_params: dict, state: METRAState, batch: Transition):
        if self.config.method == "diayn":
            loss = -self.intrinsic_reward(phi_params, batch).mean()
            return loss, {"phi_loss": loss, "slack": jnp.zeros(()), "phi_dist": jnp.zeros(())}
        delta = self._delta(phi_params, batch)
        slack, phi_dist = self.slack(delta, batch)
        dual = jax.lax.stop_gradient(jnp.exp(state.log_dual))
        loss = -jnp.mean(self._metra_reward(delta, batch["skill"]) + dual * slack)
        return loss, {"phi_loss": loss, "slack": slack.mean(), "phi_dist": phi_dist.mean()}

    def representation_step(self, state: METRAState, batch: Transition) -> tuple[METRAState, dict]:
        """phi, then (METRA) log lambda against the slack of the same forward pass."""
        grads, info = jax.grad(self.phi_loss, has_aux=True)(state.phi, state, batch)
        updates, phi_opt = self.phi_tx.update(grads, state.phi_opt)
        state = state.replace(phi=optax.apply_updates(state.phi, updates), phi_opt=phi_opt)
        if self.config.method == "metra":
            dual_grad = jax.grad(lambda log_dual: log_dual * jax.lax.stop_gradient(info["slack"]))(state.log_dual)
            updates, dual_opt = self.dual_tx.update(dual_grad, state.dual_opt)
            state = state.replace(log_dual=optax.apply_updates(state.log_dual, updates), dual_opt=dual_opt)
        return state, {**info, "dual": jnp.exp(state.log_dual)}

    def learner_batch(self, phi_params: dict, batch: Transition) -> Transition:
        """SAC's batch: `[s, z] -> [s', z]` with the intrinsic reward of `phi_params`, gradients stopped."""
        skill = batch["skill"]
        reward = jax.lax.stop_gradient(self.intrinsic_reward(phi_params, batch))
        return batch.replace(obs=self.learner_input(batch.obs, skill), next_obs=self.learner_input(batch.next_obs,
                                                                                                   skill),
                             reward=reward, extras={})

    def update(self, state: METRAState, batch: Transition, key: jax.Array) -> tuple[METRAState, dict]:
        """phi -> lambda -> the reward from the new phi -> SAC's critic, actor, temperature and target steps."""
        state, rep_info = self.representation_step(state, batch)
        learner = self.learner_batch(state.phi, batch)
        state, sac_info = super().update(state, learner, key)
        return state, {**rep_info, **sac_info, "intrinsic_reward": learner.reward.mean()}

    # --- evaluation -----------------------------------------------------------------------------------------
    def goal_skill(self, phi_params: dict, obs: jax.Array, goal_obs: jax.Array) -> jax.Array:
        """The skill towards a goal: METRA's `phi(g) - phi(s)` normalised (or its arg-max one-hot); DIAYN's
        posterior mean at the goal (or its arg-max)."""
        target = self.phi(phi_params, goal_obs)
        direction = target if self.config.method == "diayn" else target - self.phi(phi_params, obs)
        if self.config.discrete_skills:
            return jax.nn.one_hot(jnp.argmax(direction, axis=-1), self.config.skill_dim)
        if self.config.method == "diayn" or not self.config.unit_skills:
            return direction
        return direction / jnp.maximum(jnp.linalg.norm(direction, axis=-1, keepdims=True), 1e-6)

    def eval_skill_set(self, key: jax.Array) -> jax.Array:
        """`[eval_skills, D]`: random skills (continuous), or every index in turn (discrete)."""
        if self.config.discrete_skills:
            d = self.config.skill_dim
            return jax.nn.one_hot(jnp.arange(self.config.eval_skills) % d, d)
        return self.sample_skills(key, self.config.eval_skills)

    def _skill_policy(self, state, skills, obs, first, key):
        action = self.act(state, self.learner_input(obs, skills), key, deterministic=True)
        return skills, to_env_action(self.spec.action_space, action)

    def _goal_policy(self, state, memory, obs, first, key):
        goal, goal_obs = memory
        # The goal observation: the episode's first observation with its position replaced by the goal.
        dims = jnp.asarray(self.coverage_dims)
        goal_obs = jnp.where(first[:, None], obs.at[:, dims].set(goal), goal_obs)
        skill = self.goal_skill(state.phi, obs, goal_obs)
        action = self.act(state, self.learner_input(obs, skill), key, deterministic=True)
        return (goal, goal_obs), to_env_action(self.spec.action_space, action)

    def _random_policy(self, state, memory, obs, first, key):
        action = jax.random.uniform(key, (obs.shape[0], self.action_dim), minval=-1, maxval=1)
        return memory, to_env_action(self.spec.action_space, action)

    def coverage(self, obs: np.ndarray, alive: np.ndarray) -> int:
        """Distinct 1x1 cells of the coverage coordinates over the rows of `obs [T+1, B, obs_dim]` where alive."""
        return count_cells(np.asarray(obs)[..., list(self.coverage_dims)][np.asarray(alive)])

    def random_coverage(self, env, seed: int) -> int:
        """The uniform random policy's coverage: same env, rollouts and steps; computed once per env."""
        if env not in self._random_coverage:
            obs, alive = trajectories(env, self._random_policy, None, None, jax.random.key(seed),
                                      self.config.eval_skills, seed)
            self._random_coverage[env] = self.coverage(obs, alive)
        return self._random_coverage[env]

    def evaluation_rollouts(self, state: METRAState, env, key: jax.Array, seed: int):
        skill_key, run_key, goal_key, goal_run_key = jax.random.split(key, 4)
        skills = self.eval_skill_set(skill_key)
        obs, alive = trajectories(env, self._skill_policy, state, skills, run_key, self.config.eval_skills, seed)
        k = len(self.coverage_dims)
        goals = jax.random.uniform(goal_key, (self.config.goals, k), minval=-self.goal_range, maxval=self.goal_range)
        memory = (goals, jnp.zeros((self.config.goals, self.env_obs_dim)))
        goal_obs, goal_alive = trajectories(env, self._goal_policy, state, memory, goal_run_key, self.config.goals,
                                            seed + 1)
        distance = np.linalg.norm(goal_obs[-1][:, list(self.coverage_dims)] - np.asarray(goals), axis=-1)
        metrics = {"coverage": float(self.coverage(obs, alive)),
                   "random_coverage": float(self.random_coverage(env, seed)),
                   "goal_success": float(np.mean(distance < self.goal_radius)),
                   "goal_distance": float(np.mean(distance))}
        drawing = {"coords": obs[..., list(self.coverage_dims)], "alive": alive, "skills": np.asarray(skills)}
        return metrics, drawing

    def diagnostics(self, state: METRAState, buffers: Buffers, key: jax.Array) -> dict:
        """`total_coverage`: distinct cells over every state in the replay (all of training while it has room)."""
        replay = buffers.online
        size = int(replay.size)
        dims = list(self.coverage_dims)
        rows = np.concatenate([np.asarray(replay.data.obs[:size])[:, dims],
                               np.asarray(replay.data.next_obs[:size])[:, dims]])
        return {"total_coverage": float(count_cells(rows))}

    def draw_evaluation(self, drawing: dict, path: Path) -> Path:
        from core.plotting import plot_trajectories

        colours = skill_colours(drawing["skills"], self.config.discrete_skills)
        title = f"{self.config.method} skills on {self.spec.name}"
        return plot_trajectories(drawing["coords"], drawing["alive"], colours, path, title, self.coverage_dims)


def count_cells(coords: np.ndarray) -> int:
    """Distinct cells of `floor(coords)` over the rows of `coords [N, k]`."""
    coords = np.asarray(coords)
    if coords.shape[0] == 0:
        return 0
    return int(np.unique(np.floor(coords).astype(np.int64), axis=0).shape[0])


def skill_colours(skills: np.ndarray, discrete: bool) -> np.ndarray:
    """`[B, 3]` RGB: a hue per discrete index, or the angle of the skill's first two entries."""
    skills = np.asarray(skills)
    if discrete:
        hue = np.argmax(skills, axis=-1) / skills.shape[-1]
    elif skills.shape[-1] >= 2:
        hue = (np.arctan2(skills[:, 1], skills[:, 0]) / (2 * np.pi)) % 1.0
    else:
        hue = (np.tanh(skills[:, 0]) + 1) / 2.5
    return np.array([colorsys.hsv_to_rgb(h, 0.85, 0.85) for h in hue])

