"""Any registered gymnasium env, stepped on the host as a vector env with the same semantics as our JAX envs.

`GymnasiumEnv` is a factory: it resolves the id once (so a bad id fails at `envs.make`, not mid-run), exposes an
`EnvSpec`, and builds `HostVectorEnv`s. The vector env steps its envs with same-step auto-reset
(envs/same_step_envs.py, gymnasium's SAME_STEP mode without its per-step info merging), the mode that matches
our protocol: the step that ends an episode already returns the first observation of the next one, and the last
observation of the ended one arrives in `info["final_obs"]`.
Episode returns and lengths are tracked here rather than read from a gymnasium wrapper, so they mean exactly
what `JaxEnv` means by them. Observations keep the gymnasium space's dtype (uint8 pixels stay uint8), except
that float64 becomes float32 (see `spec_observation_space`).

`model_edit(model)` edits the simulator of every env the factory builds, after construction: for MuJoCo envs
`env.unwrapped.model`, a `mujoco.MjModel` edited in place (`model.opt.gravity[:] = ...`,
`model.body_mass[:] *= 1.5`), for dynamics-shifted variants of a task.

`env_wrapper(env) -> env` wraps every env the factory builds, right after `gymnasium.make` and `model_edit`
(e.g. a `gymnasium.ActionWrapper` that perturbs the actions the simulator receives, as envs/shift.py does). It
sits inside the vector env, so what a collector stores is what it sent, not what the wrapper made of it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Self

import gymnasium
import numpy as np

from envs.protocol import EnvSpec, TimeStep
from envs.same_step_envs import SameStepEnvs
from envs.spaces import Box, Discrete, Space, from_gymnasium

# Gymnasium envs without a registered time limit would otherwise never truncate, while every spec here promises
# one; this default is enforced through gymnasium's own TimeLimit wrapper.
DEFAULT_MAX_EPISODE_STEPS = 1000

ModelEdit = Callable[[Any], None]
EnvWrapper = Callable[[gymnasium.Env], gymnasium.Env]


class ModelEditError(ValueError):
    """A `model_edit` for an env without a MuJoCo model, or one that returns something instead of editing."""


class EnvWrapperError(ValueError):
    """An `env_wrapper` that returns something other than a gymnasium env."""


class GymnasiumEnv:
    """A gymnasium id (also `module:Id`) plus `gymnasium.make` kwargs; builds host vector envs.

    `model_edit`, if given, is called as `model_edit(env.unwrapped.model)` on every env built (the probe that
    reads the spaces, each vector env's envs, evaluation envs), right after `gymnasium.make`. `env_wrapper`, if
    given, then wraps each of those envs: `env = env_wrapper(env)`; the spaces are read from the wrapped env.
    """

    def __init__(self, env_id: str, model_edit: ModelEdit | None = None, env_wrapper: EnvWrapper | None = None,
                 **make_kwargs: Any):
        self.env_id = env_id
        registered = resolve_spec(env_id)
        self._registered_id = registered.id  # the module is imported by now; make() needs only the id
        self.model_edit = model_edit
        self.env_wrapper = env_wrapper
        self.make_kwargs = dict(make_kwargs)
        if registered.max_episode_steps is None and "max_episode_steps" not in self.make_kwargs:
            self.make_kwargs["max_episode_steps"] = DEFAULT_MAX_EPISODE_STEPS
        probe = self._make_one()
        try:
            steps = probe.spec.max_episode_steps if probe.spec is not None else None
            self._spec = EnvSpec(
                name=env_id,
                observation_space=spec_observation_space(from_gymnasium(probe.observation_space)),
                action_space=from_gymnasium(probe.action_space),
                max_episode_steps=int(steps or DEFAULT_MAX_EPISODE_STEPS),
            )
        finally:
            probe.close()

    @property
    def spec(self) -> EnvSpec:
        return self._spec

    @property
    def name(self) -> str:
        return self.env_id

    @property
    def observation_space(self) -> Space:
        return self._spec.observation_space

    @property
    def action_space(self) -> Space:
        return self._spec.action_space

    @property
    def max_episode_steps(self) -> int:
        return self._spec.max_episode_steps

    def _make_one(self) -> gymnasium.Env:
        env = gymnasium.make(self._registered_id, **self.make_kwargs)
        try:
            if self.model_edit is not None:
                apply_model_edit(env, self.model_edit, self.env_id)
            if self.env_wrapper is not None:
                env = apply_env_wrapper(env, self.env_wrapper, self.env_id)
        except Exception:
            env.close()
            raise
        return env

    def vector(self, num_envs: int, seed: int) -> HostVectorEnv:
        return HostVectorEnv([self._make_one for _ in range(num_envs)], self._spec, seed)

    def __repr__(self) -> str:
        edit = f", model_edit={self.model_edit!r}" if self.model_edit is not None else ""
        wrapper = f", env_wrapper={self.env_wrapper!r}" if self.env_wrapper is not None else ""
        return f"GymnasiumEnv({self.env_id!r}, {self.make_kwargs}{edit}{wrapper})"


def apply_model_edit(env: gymnasium.Env, model_edit: ModelEdit, env_id: str) -> None:
    """`model_edit(env.unwrapped.model)`, refusing envs without a simulator model and edits that return one."""
    model = getattr(env.unwrapped, "model", None)
    if model is None:
        raise ModelEditError(f"model_edit needs a MuJoCo env (env.unwrapped.model); {env_id} has no model")
    result = model_edit(model)
    if result is not None and result is not model:
        raise ModelEditError(f"model_edit must edit the MjModel of {env_id} in place and return None, "
                             f"got a {type(result).__name__}")


def apply_env_wrapper(env: gymnasium.Env, env_wrapper: EnvWrapper, env_id: str) -> gymnasium.Env:
    """`env_wrapper(env)`, refusing a result that is not a gymnasium env (a forgotten `return`, say)."""
    wrapped = env_wrapper(env)
    if not isinstance(wrapped, gymnasium.Env):
        raise EnvWrapperError(f"env_wrapper must return a gymnasium env wrapping the one it gets for {env_id}, "
                              f"got {type(wrapped).__name__}")
    return wrapped


def resolve_spec(env_id: str) -> gymnasium.envs.registration.EnvSpec:
    """The registered spec of `[module:]Id`, importing `module` first so that a user's package registers itself.

    Raises gymnasium's own errors (`gymnasium.error.Error`, `ModuleNotFoundError`); the registry turns them into
    an `EnvNotFoundError` with suggestions.
    """
    module, _, name = env_id.rpartition(":")
    if module:
        importlib.import_module(module)
    registry = gymnasium.envs.registration
    namespace, base, version = registry.parse_env_id(name)
    if version is None:
        # gymnasium.make accepts an unversioned id and picks the newest version; so do we.
        version = registry.find_highest_version(namespace, base)
        name = registry.get_env_id(namespace, base, version) if version is not None else name
    return gymnasium.spec(name)


class HostVectorEnv:
    """`num_envs` gymnasium envs behind `reset() -> TimeStep` / `step(actions) -> TimeStep` on numpy arrays [N, ...].

    `info["final_obs"]` is the last observation of an episode that ended on this step and equals `obs` elsewhere;
    `info["episode_return"]`/`info["episode_length"]` include this step and are valid where the episode ended.
    """

    def __init__(self, env_fns, spec: EnvSpec, seed: int):
        self.spec = spec
        self.num_envs = len(env_fns)
        self.seed = seed
        self._env = SameStepEnvs(env_fns)
        self._obs_dtype = np.dtype(spec.observation_space.dtype)
        self._returns = np.zeros(self.num_envs, np.float32)
        self._lengths = np.zeros(self.num_envs, np.int32)
        self._seeded = False

    def reset(self) -> TimeStep:
        # Seed only the first reset: later resets continue the seeded streams instead of replaying episode one.
        obs = self._env.reset(seed=None if self._seeded else self.seed)
        self._seeded = True
        obs = np.asarray(obs, self._obs_dtype)
        self._returns[:] = 0.0
        self._lengths[:] = 0
        false = np.zeros(self.num_envs, bool)
        info = {"final_obs": obs, "episode_return": self._returns.copy(), "episode_length": self._lengths.copy()}
        return TimeStep(obs, np.zeros(self.num_envs, np.float32), false, false.copy(), info)

    def step(self, actions: np.ndarray) -> TimeStep:
        obs, reward, terminated, truncated, final = self._env.step(self._prepare_actions(actions))
        obs = np.asarray(obs, self._obs_dtype)
        reward = np.asarray(reward, np.float32)
        terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
        episode_return = self._returns + reward
        episode_length = self._lengths + 1
        done = terminated | truncated
        self._returns = np.where(done, 0.0, episode_return).astype(np.float32)
        self._lengths = np.where(done, 0, episode_length).astype(np.int32)
        info = {"final_obs": _final_obs(obs, final, self._obs_dtype), "episode_return": episode_return,
                "episode_length": episode_length}
        return TimeStep(obs, reward, terminated, truncated, info)

    def _prepare_actions(self, actions) -> np.ndarray:
        actions = np.asarray(actions)
        space = self.spec.action_space
        if isinstance(space, Discrete):
            # Policies often emit [N, 1] or float indices; gymnasium wants one integer per env.
            return np.rint(actions).astype(np.int64).reshape(self.num_envs)
        assert isinstance(space, Box)
        actions = actions.reshape((self.num_envs, *space.shape))
        return np.clip(actions, space.low, space.high).astype(space.dtype)

    def close(self) -> None:
        self._env.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def spec_observation_space(space: Space) -> Space:
    """The gymnasium space with its own dtype, except float64 -> float32.

    The one cast: MuJoCo observations are float64, but JAX computes in float32 unless x64 is enabled (it is not
    here), so a float64 spec would promise arrays that JAX silently turns into float32 anyway, and replay
    buffers would hold twice the bytes. Integer observations (uint8 pixels) are kept: they are exact, and
    agents scale them at their network input.
    """
    if isinstance(space, Box) and space.dtype == np.float64:
        return Box(space.low.astype(np.float32), space.high.astype(np.float32), space.shape, np.dtype(np.float32))
    return space


def _final_obs(obs: np.ndarray, final: dict[int, np.ndarray], dtype: np.dtype) -> np.ndarray:
    """`obs`, with the last observation of each episode that ended on this step in its env's row."""
    final_obs = obs.copy()
    for i, last in final.items():
        final_obs[i] = np.asarray(last, dtype)
    return final_obs
