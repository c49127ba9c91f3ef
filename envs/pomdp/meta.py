"""Meta-RL by random projection: each (meta-)episode hides a control task behind fresh random linear maps.

At every meta-reset the wrapper draws a base env uniformly from `bases`, an orthogonal observation map
`M_o in R^{obs_dim x in_dim}` (times `gain`) and, for continuous actions, an orthogonal action map
`M_a in R^{act_dim x act_dim}`. The agent sees

    [M_o pad(o),  prev reward (append_reward),  trial-done flag,  first flag,  prev action (append_action)]

and acts in [-1, 1]^act_dim; the base env receives `clip(M_a a, -1, 1)[:its dims]` rescaled to its bounds
(discrete bases take the action unprojected, all with the same number of actions). A meta-episode is `trials`
runs of the base task with the maps fixed; the base's own auto-reset draws each trial's start afresh (or replays
the first one with `same_start_state`, the S5 paper's released-code behaviour). It ends the way its last trial
ends: `terminated` if the base terminated, `truncated` if the base hit its time limit.

    pomdp:meta?base=jax:Pendulum-v1&trials=4            any JaxEnv (brax: envs included) with flat Box obs
    pomdp:meta?base=jax:Pendulum-v1,brax:reacher         several bases: one drawn per meta-episode
    pomdp:ProjectedCartPole?trials=16                    the paper's task: W in R^{4x2}, gain sqrt 2, 7-dim obs
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.protocol import EnvState, JaxEnv, TimeStep, tree_where
from envs.spaces import Box, Discrete
from envs.wrapper import Wrapper


@struct.dataclass
class MetaState:
    base_states: tuple  # one EnvState per base env; only `task`'s is stepped
    starts: tuple  # each base's EnvState at meta-reset (replayed per trial with same_start_state)
    start_obs: jax.Array  # [num_bases, in_dim] their padded first observations
    task: jax.Array
    obs_map: jax.Array  # [obs_dim, in_dim]
    action_map: jax.Array  # [act_dim, act_dim] (identity for discrete bases)
    trial: jax.Array
    obs: jax.Array  # [in_dim] the current padded base observation
    prev_reward: jax.Array
    trial_done: jax.Array
    first: jax.Array
    prev_action: jax.Array  # [act_dim] (a discrete action as its index)
    time: jax.Array
    episode_return: jax.Array


@dataclass(frozen=True, eq=False)
class MetaProjection(Wrapper):
    """A `Wrapper` over one or more bases that writes its own `reset` and `step`: a meta-episode spans several
    base episodes (`trials`), so the base's episode ends are not this env's, and its spaces, time limit and name
    are its own. `env` is the first base."""

    bases: tuple[JaxEnv, ...]
    trials: int = 1
    obs_dim: int | None = None  # default: the largest base observation size (a square map)
    act_dim: int | None = None  # default: the largest base action size
    gain: float = 1.0
    project_actions: bool = True
    append_reward: bool = True
    append_action: bool = True
    same_start_state: bool = False
    name: str = "meta"
    _discrete: bool = field(init=False, default=False)

    def __post_init__(self):
        if not self.bases:
            raise ValueError("MetaProjection needs at least one base env")
        for env in self.bases:
            if not isinstance(env.observation_space, Box) or len(env.observation_space.shape) != 1:
                raise ValueError(f"base {env.name} must have flat Box observations, got {env.observation_space}")
        kinds = {type(env.action_space) for env in self.bases}
        if kinds == {Discrete}:
            if len({env.action_space.n for env in self.bases}) != 1:
                raise ValueError("discrete bases must all have the same number of actions")
            object.__setattr__(self, "_discrete", True)
        elif kinds != {Box}:
            raise ValueError("bases must all have Box actions or all Discrete actions")
        if self.trials < 1:
            raise ValueError(f"trials must be >= 1, got {self.trials}")

    # --- sizes and spaces -------------------------------------------------------------------------------------
    @property
    def env(self) -> JaxEnv:
        return self.bases[0]

    @property
    def previous_action_input(self) -> bool:
        return False  # the meta observation carries the previous action (append_action) already

    @property
    def in_dim(self) -> int:
        return max(env.observation_space.shape[0] for env in self.bases)

    @property
    def out_dim(self) -> int:
        return self.obs_dim or self.in_dim

    @property
    def action_dim(self) -> int:
        if self._discrete:
            return 1
        return self.act_dim or max(env.action_space.shape[0] for env in self.bases)

    @property
    def max_episode_steps(self) -> int:
        return self.trials * max(env.max_episode_steps for env in self.bases)

    @property
    def observation_space(self) -> Box:
        size = self.out_dim + int(self.append_reward) + 2 + self.action_dim * int(self.append_action)
        return Box.uniform(-np.inf, np.inf, (size,))

    @property
    def action_space(self) -> Box | Discrete:
        if self._discrete:
            return self.bases[0].action_space
        return Box.uniform(-1.0, 1.0, (self.action_dim,))

    # --- the protocol -----------------------------------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[MetaState, TimeStep]:
        task_key, obs_key, act_key, *base_keys = jax.random.split(key, 3 + len(self.bases))
        resets = [env.reset(k) for env, k in zip(self.bases, base_keys, strict=True)]
        starts = tuple(state for state, _ in resets)
        start_obs = jnp.stack([self._pad(step.obs) for _, step in resets])
        task = jax.random.randint(task_key, (), 0, len(self.bases))
        obs_map = self.gain * _random_orthogonal(obs_key, self.out_dim, self.in_dim)
        if self._discrete or not self.project_actions:
            action_map = jnp.eye(self.action_dim)
        else:
            action_map = _random_orthogonal(act_key, self.action_dim, self.action_dim)
        zero, false = jnp.zeros((), jnp.float32), jnp.zeros((), bool)
        state = MetaState(starts, starts, start_obs, task, obs_map, action_map, jnp.zeros((), jnp.int32),
                          start_obs[task], zero, false, jnp.ones((), bool), jnp.zeros(self.action_dim),
                          jnp.zeros((), jnp.int32), zero)
        obs = self._observe(state)
        info = {"final_obs": obs, "episode_return": zero, "episode_length": jnp.zeros((), jnp.int32),
                "task": task, "trial": state.trial}
        return state, TimeStep(obs, zero, false, false, info)

    def step(self, state: MetaState, action: jax.Array, key: jax.Array) -> tuple[MetaState, TimeStep]:
        step_key, reset_key = jax.random.split(key)
        base_states, obs, final_obs, reward, base_term, base_trunc = self._step_base(state, action, step_key)
        trial_done = base_term | base_trunc
        if self.same_start_state:
            base_states = tuple(tree_where(trial_done, start, current)
                                for start, current in zip(state.starts, base_states, strict=True))
            obs = jnp.where(trial_done, state.start_obs[state.task], obs)
        last_trial = state.trial + 1 >= self.trials
        terminated, truncated = base_term & last_trial, base_trunc & last_trial
        done = terminated | truncated
        time, episode_return = state.time + 1, state.episode_return + reward
        prev_action = jnp.reshape(action, (-1,)).astype(jnp.float32)
        stepped = state.replace(
            base_states=base_states, trial=state.trial + trial_done, obs=obs, prev_reward=reward,
            trial_done=trial_done, first=jnp.zeros((), bool), prev_action=prev_action, time=time,
            episode_return=episode_return)
        final = self._observe(stepped.replace(obs=final_obs))

        fresh, fresh_step = self.reset(reset_key)
        next_state = tree_where(done, fresh, stepped)
        next_obs = jnp.where(done, fresh_step.obs, self._observe(stepped))
        info = {"final_obs": final, "episode_return": episode_return, "episode_length": time,
                "task": state.task, "trial": state.trial}
        return next_state, TimeStep(next_obs, reward, terminated, truncated, info)

    # --- helpers ----------------------------------------------------------------------------------------------
    def _pad(self, obs: jax.Array) -> jax.Array:
        obs = jnp.reshape(obs, (-1,)).astype(jnp.float32)
        return jnp.pad(obs, (0, self.in_dim - obs.shape[0]))

    def _observe(self, state: MetaState) -> jax.Array:
        parts = [state.obs_map @ state.obs]
        if self.append_reward:
            parts.append(state.prev_reward[None])
        parts += [state.trial_done[None], state.first[None]]
        if self.append_action:
            parts.append(state.prev_action)
        return jnp.concatenate([jnp.asarray(p, jnp.float32) for p in parts])

    def _base_action(self, env: JaxEnv, action: jax.Array, action_map: jax.Array) -> jax.Array:
        if self._discrete:
            return jnp.reshape(action, ()).astype(jnp.int32)
        mixed = jnp.clip(action_map @ jnp.reshape(action, (-1,)), -1.0, 1.0)[:env.action_space.shape[0]]
        low, high = jnp.asarray(env.action_space.low), jnp.asarray(env.action_space.high)
        return (low + (mixed + 1.0) * 0.5 * (high - low)).astype(env.action_space.dtype)

    def _step_base(self, state: MetaState, action: jax.Array, key: jax.Array):
        def branch(i: int):
            def run(base_states, action, action_map, key):
                env = self.bases[i]
                new, step = env.step(base_states[i], self._base_action(env, action, action_map), key)
                base_states = base_states[:i] + (new,) + base_states[i + 1:]
                return (base_states, self._pad(step.obs), self._pad(step.info["final_obs"]),
                        step.reward.astype(jnp.float32), step.terminated, step.truncated)
            return run

        operands = (state.base_states, action, state.action_map, key)
        if len(self.bases) == 1:
            return branch(0)(*operands)
        return jax.lax.switch(state.task, [branch(i) for i in range(len(self.bases))], *operands)


def projected_cartpole(trials: int = 16, same_start_state: bool = False, max_steps: int = 200) -> MetaProjection:
    """The S5 paper's released meta task: StatelessCartPole behind W in R^{4x2} (orthogonal, gain sqrt 2),
    actions unprojected, obs `[W (x, theta), trial-done, first, prev action]` (7 dims), 16 trials."""
    from envs.pomdp.control import PositionOnlyCartPole

    base = PositionOnlyCartPole(max_episode_steps=max_steps, name="PositionOnlyCartPole")
    return MetaProjection((base,), trials=trials, obs_dim=4, gain=math.sqrt(2), project_actions=False,
                          append_reward=False, same_start_state=same_start_state, name="ProjectedCartPole")


def meta_from_names(base: str, **kwargs) -> MetaProjection:
    """`base` is one or more env strings separated by commas, each built by `envs.make`."""
    from envs.registry import make  # late: the registry's families import this package

    names = [name for name in str(base).split(",") if name]
    return MetaProjection(tuple(make(name) for name in names), **kwargs)


def _random_orthogonal(key: jax.Array, rows: int, cols: int) -> jax.Array:
    """A Haar-random `[rows, cols]` matrix with orthonormal columns (rows >= cols) or rows, by Gram-Schmidt.

    Not `jax.nn.initializers.orthogonal`: its QR is a LAPACK call, and QR inside compiled trainings deadlocked on
    this CPU's jaxlib (see kernels.blocks.orthogonal, which envs may not import); this env draws a projection at
    every reset. The same Gaussian draw and column order give the matrix that QR with sign correction gives.
    """
    tall = rows >= cols
    a = jax.random.normal(key, (rows, cols) if tall else (cols, rows))
    q = jnp.zeros_like(a)
    for j in range(a.shape[1]):  # the smaller side, a dozen at most in our meta tasks: unrolled
        v = a[:, j]
        for _ in range(2):  # twice is enough (Kahan)
            v = v - q @ (q.T @ v)
        q = q.at[:, j].set(v / jnp.linalg.norm(v))
    return q if tall else q.T


__all__ = ["EnvState", "MetaProjection", "MetaState", "meta_from_names", "projected_cartpole"]
