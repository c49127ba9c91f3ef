"""The reverse adapter: any of our JaxEnvs as a `gymnasium.Env`, and our ports registered as `hsrl/<Id>`.

After `import envs`, outside code can `gymnasium.make("hsrl/CartPole-v1")`. Gymnasium's single-env contract has
no auto-reset: the step that ends an episode returns the *final* observation and the caller resets. So this
adapter hands out `info["final_obs"]` of our auto-resetting step, and refuses to step past the end.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import jax
import numpy as np

from envs.protocol import JaxEnv
from envs.spaces import Discrete, to_gymnasium

NAMESPACE = "hsrl"


class JaxToGymnasium(gymnasium.Env):
    """Numpy in, numpy out; `reset(seed=...)` seeds both gymnasium's `np_random` and the JAX key stream."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, env: JaxEnv, render_mode: str | None = None):
        if render_mode is not None:
            raise ValueError("JAX envs do not render")
        self.env = env
        self.observation_space = to_gymnasium(env.observation_space)
        self.action_space = to_gymnasium(env.action_space)
        self._reset = jax.jit(env.reset)
        self._step = jax.jit(env.step)
        self._state = None
        self._key = None
        self._needs_reset = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        # Drawing the JAX seed from np_random makes reset(seed=s) reproducible and unseeded resets keep varying.
        self._key = jax.random.key(int(self.np_random.integers(0, 2**31 - 1)))
        self._key, reset_key = jax.random.split(self._key)
        self._state, timestep = self._reset(reset_key)
        self._needs_reset = False
        return self._obs(timestep.obs), {}

    def step(self, action):
        if self._needs_reset:
            raise RuntimeError("call reset() before step() and after an episode ends")
        self._key, step_key = jax.random.split(self._key)
        self._state, timestep = self._step(self._state, self._action(action), step_key)
        terminated, truncated = bool(timestep.terminated), bool(timestep.truncated)
        self._needs_reset = terminated or truncated
        return self._obs(timestep.info["final_obs"]), float(timestep.reward), terminated, truncated, {}

    def _action(self, action) -> np.ndarray:
        # A fixed dtype and shape keep the jitted step from recompiling for int64 vs int32 or list inputs.
        space = self.env.action_space
        if isinstance(space, Discrete):
            return np.asarray(action, np.int32).reshape(())
        return np.asarray(action, space.dtype).reshape(space.shape)

    def _obs(self, obs) -> np.ndarray:
        return np.asarray(obs, self.observation_space.dtype)


def make_registered(jax_id: str, render_mode: str | None = None, **kwargs: Any) -> JaxToGymnasium:
    """Gymnasium's entry point for `hsrl/<jax_id>`; kwargs of `gymnasium.make` become the port's fields."""
    from envs.families import JAX_ENVS  # late: the families import this module's package

    return JaxToGymnasium(JAX_ENVS[jax_id](**kwargs), render_mode=render_mode)


def register_ports(ports: dict[str, type[JaxEnv]]) -> None:
    """Register each port as `hsrl/<Id>` with its own time limit (idempotent: re-imports are harmless).

    A port whose episode length is one of its options (`episode_length_is_an_option`, CombinationLock's
    `horizon`) gets no registered limit: one taken from its defaults would cut a longer episode short, and the
    port ends its episodes itself.
    """
    for jax_id, cls in ports.items():
        gym_id = f"{NAMESPACE}/{jax_id}"
        if gym_id in gymnasium.registry:
            continue
        # A string entry point keeps the registration serialisable (gymnasium's EnvSpec.to_json, pickling vector envs).
        gymnasium.register(
            id=gym_id,
            entry_point=f"{__name__}:make_registered",
            kwargs={"jax_id": jax_id},
            max_episode_steps=None if getattr(cls, "episode_length_is_an_option", False) else cls().max_episode_steps,
        )
