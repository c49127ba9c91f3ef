"""A list of gymnasium envs stepped in turn with same-step auto-reset: the step that ends an episode returns the
next episode's first observation, and the ended one's last observation separately.

This is what gymnasium's `SyncVectorEnv` does in its SAME_STEP mode, minus what we never read: it merges every
env's `info` dict into batched arrays on every step, which for a MuJoCo env (four info entries) costs about as
much as the physics step itself, on the host, between two device calls of a host-env training loop. Seeding
follows `SyncVectorEnv` (env i gets `seed + i` on a seeded reset), so episodes are the same as with it.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium
import numpy as np


class SameStepEnvs:
    def __init__(self, env_fns: list[Callable[[], gymnasium.Env]]):
        self.envs = [make() for make in env_fns]

    def reset(self, seed: int | None = None) -> np.ndarray:
        seeds = [None if seed is None else seed + i for i in range(len(self.envs))]
        return np.stack([env.reset(seed=s)[0] for env, s in zip(self.envs, seeds)])

    def step(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[int, np.ndarray]]:
        """-> (obs, rewards, terminated, truncated, {env index: final obs} for the envs whose episode ended)."""
        count = len(self.envs)
        observations, final = [None] * count, {}
        rewards, terminated, truncated = np.zeros(count), np.zeros(count, bool), np.zeros(count, bool)
        for i, (env, action) in enumerate(zip(self.envs, actions)):
            observations[i], rewards[i], terminated[i], truncated[i], _ = env.step(action)
            if terminated[i] or truncated[i]:
                final[i] = observations[i]
                observations[i], _ = env.reset()
        return np.stack(observations), rewards, terminated, truncated, final

    def close(self) -> None:
        for env in self.envs:
            env.close()
