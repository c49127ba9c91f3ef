"""The one transition schema: what every loop, replay buffer, dataset and benchmark stores about a step.

A `Transition` is `obs, action, reward, next_obs, terminated, truncated, first` plus `extras`, a dict of
agent-specific fields (a skill vector, a behaviour log-prob). Leaves carry whatever leading axes the holder
gives them: none for one example row, `[N]` in a flat buffer or a dataset, `[T, B]` in a rollout.

- `action` is in the agent's units: the normalised box [-1, 1]^d for continuous actions (see core/actions.py),
  the integer index for discrete ones.
- `next_obs` is the observation that followed `obs` within its episode, also on the step that ended it
  (the env's `final_obs`), so a target can bootstrap through a truncation.
- `terminated` stops bootstrapping; `truncated` (a time limit, the end of a dataset) does not; `first` marks the
  first step of an episode, where recurrent state resets.
- Observation dtypes come from the env spec: pixel observations stay `uint8` in storage.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.protocol import EnvSpec
from envs.spaces import Box

FIELDS = ("obs", "action", "reward", "next_obs", "terminated", "truncated", "first")


@struct.dataclass
class Transition:
    obs: Any
    action: Any
    reward: Any
    next_obs: Any
    terminated: Any
    truncated: Any
    first: Any
    extras: dict = struct.field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        """`batch["obs"]` reads like `batch.obs`, and `batch["skill"]` reads an extra."""
        if name in FIELDS:
            return getattr(self, name)
        return self.extras[name]

    def __contains__(self, name: str) -> bool:
        """`"first" in transition`, as the sequence buffer asks of its example row."""
        return name in FIELDS or name in self.extras

    def without_extras(self) -> Transition:
        """The core fields only: rows from a dataset and from an online replay, whose extras may differ, can
        then be concatenated or picked between by a `lax.cond`."""
        return self.replace(extras={})

    @property
    def num_rows(self) -> int:
        return int(np.shape(self.reward)[0])


def observation_dtype(spec: EnvSpec) -> np.dtype:
    return np.dtype(getattr(spec.observation_space, "dtype", np.float32))


def action_dtype(spec: EnvSpec) -> np.dtype:
    """Float32 for continuous (normalised) actions, the space's integer dtype otherwise."""
    if isinstance(spec.action_space, Box):
        return np.dtype(np.float32)
    return np.dtype(getattr(spec.action_space, "dtype", np.int32))


def example(spec: EnvSpec, extras: dict | None = None) -> Transition:
    """One zero row with the shapes and dtypes of `spec`; `extras` maps names to example values of one row."""
    obs = jnp.zeros(spec.observation_space.shape, observation_dtype(spec))
    action = jnp.zeros(spec.action_space.shape, action_dtype(spec))
    false = jnp.zeros((), bool)
    extras = {name: jnp.zeros_like(jnp.asarray(value)) for name, value in (extras or {}).items()}
    return Transition(obs, action, jnp.zeros((), jnp.float32), obs, false, false, false, extras)


def from_step(obs, action, timestep, first, extras: dict | None = None) -> Transition:
    """The transition of acting `action` on `obs` (episode start flag `first`) and getting `timestep`."""
    return Transition(obs, action, timestep.reward, timestep.info["final_obs"], timestep.terminated,
                      timestep.truncated, first, dict(extras or {}))


class SchemaError(ValueError):
    """A transition whose shapes do not fit an env spec."""


def check_fits(transition: Transition, spec: EnvSpec, source: str, leading: int = 1) -> None:
    """Refuse rows (with `leading` batch axes) whose observation or action shapes are not those of `spec`."""
    expected = {"obs": spec.observation_space.shape, "next_obs": spec.observation_space.shape,
                "action": spec.action_space.shape, "reward": (), "terminated": (), "truncated": ()}
    for name, shape in expected.items():
        got = tuple(np.shape(getattr(transition, name)))[leading:]
        if got != tuple(shape):
            raise SchemaError(f"{source}: {name} rows have shape {got}, but {spec.name} needs {tuple(shape)}")
