"""Any registered gymnasium env, stepped on the host as a vector env with the same semantics as our JAX envs.

`GymnasiumEnv` is a factory: it resolves the id once (so a bad id fails at `envs.make`, not mid-run), exposes an
`EnvSpec`, and builds `HostVectorEnv`s. The vector env runs gymnasium's `SyncVectorEnv` in SAME_STEP autoreset
mode, which is the mode that matches our protocol: the step that ends an episode already returns the first
observation of the next one, and the last observation of the ended one arrives in `infos["final_obs"]`.
Episode returns and lengths are tracked here rather than read from a gymnasium wrapper, so they mean exactly
what `JaxEnv` means by them.
"""

from __future__ import annotations

import importlib
from typing import Any, Self

import gymnasium
import numpy as np

from envs.protocol import EnvSpec, TimeStep
from envs.spaces import Box, Discrete, Space, from_gymnasium

# Gymnasium envs without a registered time limit would otherwise never truncate, while every spec here promises
# one; this default is enforced through gymnasium's own TimeLimit wrapper.
DEFAULT_MAX_EPISODE_STEPS = 1000


class GymnasiumEnv:
    """A gymnasium id (also `module:Id`) plus `gymnasium.make` kwargs; builds host vector envs."""

    def __init__(self, env_id: str, **make_kwargs: Any):
        self.env_id = env_id
        registered = resolve_spec(env_id)
        self._registered_id = registered.id  # the module is imported by now; make() needs only the id
        self.make_kwargs = dict(make_kwargs)
        if registered.max_episode_steps is None and "max_episode_steps" not in self.make_kwargs:
            self.make_kwargs["max_episode_steps"] = DEFAULT_MAX_EPISODE_STEPS
        probe = self._make_one()
        try:
            steps = probe.spec.max_episode_steps if probe.spec is not None else None
            self._spec = EnvSpec(
                name=env_id,
                observation_space=_as_float32(from_gymnasium(probe.observation_space)),
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
        return gymnasium.make(self._registered_id, **self.make_kwargs)

    def vector(self, num_envs: int, seed: int) -> HostVectorEnv:
        return HostVectorEnv([self._make_one for _ in range(num_envs)], self._spec, seed)

    def __repr__(self) -> str:
        return f"GymnasiumEnv({self.env_id!r}, {self.make_kwargs})"


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
        self._env = gymnasium.vector.SyncVectorEnv(
            env_fns, autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP)
        self._returns = np.zeros(self.num_envs, np.float32)
        self._lengths = np.zeros(self.num_envs, np.int32)
        self._seeded = False

    def reset(self) -> TimeStep:
        # Seed only the first reset: later resets continue the seeded streams instead of replaying episode one.
        obs, _ = self._env.reset(seed=None if self._seeded else self.seed)
        self._seeded = True
        obs = np.asarray(obs, np.float32)
        self._returns[:] = 0.0
        self._lengths[:] = 0
        false = np.zeros(self.num_envs, bool)
        info = {"final_obs": obs, "episode_return": self._returns.copy(), "episode_length": self._lengths.copy()}
        return TimeStep(obs, np.zeros(self.num_envs, np.float32), false, false.copy(), info)

    def step(self, actions: np.ndarray) -> TimeStep:
        obs, reward, terminated, truncated, infos = self._env.step(self._prepare_actions(actions))
        obs = np.asarray(obs, np.float32)
        reward = np.asarray(reward, np.float32)
        terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
        episode_return = self._returns + reward
        episode_length = self._lengths + 1
        done = terminated | truncated
        self._returns = np.where(done, 0.0, episode_return).astype(np.float32)
        self._lengths = np.where(done, 0, episode_length).astype(np.int32)
        info = {"final_obs": _final_obs(obs, infos), "episode_return": episode_return,
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


def _as_float32(space: Space) -> Space:
    """Observations are handed out as float32 (MuJoCo's are float64), so the env's spec must say so too."""
    if isinstance(space, Box) and np.issubdtype(space.dtype, np.floating):
        return Box(space.low.astype(np.float32), space.high.astype(np.float32), space.shape)
    return space


def _final_obs(obs: np.ndarray, infos: dict[str, Any]) -> np.ndarray:
    """Batch gymnasium's per-env `final_obs` (an object array, set only where `_final_obs`) into `obs`'s shape."""
    final_obs = obs.copy()
    if "_final_obs" in infos:
        for i in np.flatnonzero(infos["_final_obs"]):
            final_obs[i] = np.asarray(infos["final_obs"][i], np.float32)
    return final_obs
