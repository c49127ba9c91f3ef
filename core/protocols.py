"""What a loop needs of an agent, as `typing.Protocol`s: one for off-policy agents, one for on-policy agents, and
one for agents that make their own training data (core/loops/self_supervised.py).

An agent subclasses its protocol explicitly, which gives it the hooks' defaults; a variant overrides only the
hooks it changes. The defaults are SAC's (off-policy) and PPO's (on-policy) behaviour, so a plain agent
needs the required methods and config fields only.

Off-policy config fields the loop reads: `batch_size`, `buffer_size`, `learning_starts`, `num_envs`,
`updates_per_step` and `train_every` (see core/loops/off_policy.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import jax
from flax import struct

from core import replay
from core.transitions import Transition

DATASET = "dataset"  # the name of the static source that a run's --dataset fills


@struct.dataclass
class Buffers:
    """What a batch is drawn from: the online replay (the loop's, saved in checkpoints) and the static data
    sources (e.g. offline datasets, by name), which are held on the device but never re-saved."""

    online: replay.ReplayState
    static: dict[str, replay.ReplayState]


class OffPolicyAgent(Protocol):
    config: Any
    spec: Any  # the EnvSpec of the env as wrapped by `wrap_env`
    offline: bool = False  # True: every step of the budget is a gradient step on static data, none an env step
    uses_static_data: bool = False  # True: its sampler draws from static sources (a --dataset is for it)

    def init(self, key: jax.Array) -> Any:
        """The learner state: every array the updates change (params, optimiser states, counters)."""
        ...

    def act(self, state: Any, obs: jax.Array, key: jax.Array, deterministic: bool = False) -> jax.Array:
        """Actions for a batch of observations, in the agent's units (core/actions.py)."""
        ...

    def update(self, state: Any, batch: Transition, key: jax.Array) -> tuple[Any, dict]:
        """One gradient step on a batch; pure, so the loop can scan it."""
        ...

    # --- hooks with defaults --------------------------------------------------------------------------------
    def init_with_data(self, key: jax.Array, static: dict[str, replay.ReplayState]) -> Any:
        """The learner state of a run given its static data sources; an agent whose state holds constants
        derived from a dataset (H2O's next-state noise scale) computes them here, once. Default: `init(key)`."""
        return self.init(key)

    def replay_capacity(self, static: dict[str, replay.ReplayState]) -> int:
        """Rows of the online replay; by default `config.buffer_size` (H2O sizes it from its dataset)."""
        return self.config.buffer_size

    def update_steps(self) -> int:
        """Gradient steps one `update` call takes; the loop's update counts (`updates_per_step`, pretrain
        updates) are gradient steps, so they must be multiples of it. An agent whose `update` is a scan of
        several steps (MOORL's meta-iteration of K inner SAC steps) returns that number. Default 1."""
        return 1

    def sample_batch(self, buffers: Buffers, state: Any, key: jax.Array) -> Transition:
        """The batch of one `update` call: by default uniform from the online replay."""
        return replay.sample(buffers.online, key, self.config.batch_size)

    def pretrain_updates(self) -> int:
        """Gradient updates on static data before the first env step (an offline agent's: the whole run)."""
        return 0

    def can_update(self, buffers: Buffers) -> jax.Array:
        """Whether `sample_batch` can draw only written rows (a traced boolean)."""
        return replay.can_sample(buffers.online)

    def initial_carry(self, num_envs: int) -> Any:
        """The acting carry of `num_envs` fresh episodes (a recurrent state, a skill); None without one."""
        return None

    def act_with_carry(self, state: Any, carry: Any, obs: jax.Array, first: jax.Array, key: jax.Array,
                       deterministic: bool = False) -> tuple[Any, jax.Array, dict]:
        """Acting with a carry (`first` marks episode starts) -> (carry, action, extras to store)."""
        return carry, self.act(state, obs, key, deterministic), {}

    def carry_with_action(self, carry: Any, action: jax.Array) -> Any:
        """The acting carry once `action` (agent units, `[B, ...]`) is the one taken: the loop calls it after
        `act_with_carry`, with a uniform random action during the warm-up. Default: the carry unchanged."""
        return carry

    def transition_extras(self) -> dict:
        """Example values (one row) of the extras `act_with_carry` returns, so the replay has room for them."""
        return {}

    def wrap_env(self, env: Any) -> Any:
        """The env as the agent sees it (training and evaluation)."""
        return env

    def evaluation_metrics(self, returns: Any) -> dict[str, float]:
        """Metrics beyond the mean return that an evaluation reports."""
        return {}

    def diagnostics(self, state: Any, buffers: Buffers, key: jax.Array) -> dict[str, jax.Array]:
        """Numbers about the learner and its data, computed at every evaluation and logged with it as
        `eval_<name>` (MOORL: its Q-values next to Monte-Carlo returns). Host-side, not jitted by the loop.
        Default: none."""
        return {}

    def evaluation_rollouts(self, state: Any, env: Any, key: jax.Array, seed: int) -> tuple[dict[str, float], Any]:
        """Metrics the agent measures with rollouts of its own in the evaluation env `env` (a skill agent's state
        coverage and zero-shot goal reaching), beside the returns of the loop's evaluation episodes, and what
        `draw_evaluation` draws of them (None: nothing). At every evaluation, host-side; the metrics are logged as
        `eval_<name>` and written to eval.json. `seed` seeds a host env's episodes. Default: none."""
        return {}, None

    def draw_evaluation(self, drawing: Any, path: Path) -> Path | None:
        """Write a picture of an evaluation's rollouts (`drawing` from `evaluation_rollouts`) to `path`, a PNG;
        returns it, or None when there is nothing to draw. Default: nothing."""
        return None


class OnPolicyAgent(Protocol):
    config: Any  # fields the loop reads: num_envs, num_steps, bootstrap_truncation, refresh_carry
    spec: Any
    offline: bool = False
    uses_static_data: bool = False

    def init(self, key: jax.Array) -> Any:
        ...

    def initial_memory(self, num_envs: int) -> Any:
        ...

    def remember(self, params: Any, memory: Any, obs: jax.Array, first: jax.Array) -> tuple[Any, jax.Array]:
        """Absorb one observation into the memory carry -> (memory, features)."""
        ...

    def sample(self, params: Any, features: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """-> (action, its log-prob) from the policy head."""
        ...

    def act(self, params: Any, memory: Any, obs: jax.Array, first: jax.Array, key: jax.Array,
            deterministic: bool = False) -> tuple[Any, jax.Array]:
        ...

    def update(self, state: Any, rollout: dict, memory: Any, key: jax.Array) -> tuple[Any, dict]:
        ...

    # --- hooks with defaults --------------------------------------------------------------------------------
    def init_with_data(self, key: jax.Array, static: dict[str, replay.ReplayState]) -> Any:
        """The learner state given the run's static data sources (an agent with `uses_static_data`: constants
        derived from its dataset, e.g. HNPG's per-step row tables). Default: `init(key)`."""
        return self.init(key)

    def update_with_data(self, state: Any, rollout: dict, memory: Any, static: dict[str, replay.ReplayState],
                         key: jax.Array) -> tuple[Any, dict]:
        """The update of an agent that also learns from static data sources (HNPG's offline rows); the loop calls
        it, with the sources as an argument of the compiled chunk, whenever a run has any. Default: `update`."""
        return self.update(state, rollout, memory, key)

    def policy_params(self, state: Any) -> Any:
        """The part of the learner state that acting reads."""
        return state.params

    def wrap_env(self, env: Any) -> Any:
        return env

    def evaluation_metrics(self, returns: Any) -> dict[str, float]:
        return {}


class SelfSupervisedLearner(Protocol):
    """A learner whose every step is a gradient step on data it makes itself, built for one env."""

    phases: tuple[str, ...] = ("train",)  # training phases in order; the last takes the rest of the budget

    def init(self, key: jax.Array) -> Any:
        ...

    def update(self, state: Any, phase: str, key: jax.Array) -> tuple[Any, dict]:
        """One gradient step of `phase` (a static string); pure and jit-able."""
        ...

    def evaluate(self, state: Any, env: Any, episodes: int, key: jax.Array) -> tuple[Any, dict[str, float]]:
        """(returns of `episodes` episodes of `env`, the learner's own evaluation metrics)."""
        ...

    def phase_steps(self) -> dict[str, int]:
        """Gradient steps each phase but the last asks for (the loop rounds them up to whole chunks)."""
        return {}


class SelfSupervisedAgent(Protocol):
    name: str  # the agent's command-line name, for error messages
    spec: Any
    uses_static_data: bool = False

    def learner(self, env: Any, seed: int) -> SelfSupervisedLearner:
        """The learner for `env` (the training env itself: a learner may differentiate through its dynamics or
        collect its data from it here, once, from `seed`)."""
        ...
