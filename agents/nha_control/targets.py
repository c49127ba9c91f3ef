"""Hierarchical mode selection on `hybrid:unicycle_resources` (the robot demo of Poli et al. 2021, rebuilt).

The hybrid automaton's mode is the resource the robot drives to. Two levels, trained one after the other:
- the low-level controller, an MLP of (pose, target) -> (v, omega), is trained by backpropagating through a
  differentiable RK4 rollout of the unicycle over the 5 s (the env's own `advance`): the loss is the mean distance
  to the target over the rollout plus the final distance;
- the high-level policy, categorical over the resources, is trained by REINFORCE with the env's reward (minus
  the distance to the nearest resource at the end), the controller frozen, a batch-mean baseline.

The controller reads the target's offset in the robot's frame rather than raw (x, y, theta, target): the same
information, but a frame-free input it does not have to learn to rotate. The policy scores each resource from
its offset and distance with one shared network, so it is the same for any order of the resources.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from agents.nha_control.config import NHAControlConfig
from core.protocols import SelfSupervisedLearner
from core.rollout import evaluate_jax_with_memory
from core.rollout.evaluation import trajectories_jax
from envs.hybrid.unicycle import UnicycleResources


@struct.dataclass
class TargetState:
    controller: Any
    controller_opt: Any
    policy: Any
    policy_opt: Any


class MLP(nn.Module):
    hidden: int
    out: int

    @nn.compact
    def __call__(self, x):
        x = nn.tanh(nn.Dense(self.hidden)(x))
        x = nn.tanh(nn.Dense(self.hidden)(x))
        return nn.Dense(self.out)(x)


def relative(pose: jax.Array, points: jax.Array, scale: float) -> jax.Array:
    """`[..., 3]` (offset along the heading, offset to the left, distance) of `points [..., 2]` from one
    `pose [3]`, over `scale`."""
    offset = points - pose[:2]
    cos, sin = jnp.cos(pose[2]), jnp.sin(pose[2])
    ahead = cos * offset[..., 0] + sin * offset[..., 1]
    left = -sin * offset[..., 0] + cos * offset[..., 1]
    distance = jnp.sqrt(ahead**2 + left**2 + 1e-6)
    return jnp.stack([ahead, left, distance], axis=-1) / scale


def pose_of(obs: jax.Array) -> jax.Array:
    """`[..., 3]` (x, y, theta) from an observation."""
    return jnp.stack([obs[..., 0], obs[..., 1], jnp.arctan2(obs[..., 3], obs[..., 2])], axis=-1)


def resources_of(obs: jax.Array) -> jax.Array:
    """`[..., resources, 2]` from an observation."""
    return obs[..., 4:].reshape(*obs.shape[:-1], -1, 2)


class TargetSelection(SelfSupervisedLearner):
    """The two levels, their losses and their acting; `env` supplies the dynamics and the task distribution."""

    phases = ("controller", "policy")

    def __init__(self, config: NHAControlConfig, env: UnicycleResources):
        self.config = config
        self.env = env
        self.controller_net = MLP(config.hidden, 2)
        self.policy_net = MLP(config.hidden, 1)
        self.controller_optimizer = optax.adam(config.controller_lr)
        self.policy_optimizer = optax.adam(config.policy_lr)

    def init(self, key: jax.Array) -> TargetState:
        controller_key, policy_key = jax.random.split(key)
        controller = self.controller_net.init(controller_key, jnp.zeros(3))
        policy = self.policy_net.init(policy_key, jnp.zeros(3))
        return TargetState(controller, self.controller_optimizer.init(controller), policy,
                           self.policy_optimizer.init(policy))

    def phase_steps(self) -> dict[str, int]:
        """Gradient steps each phase asks for (the last phase takes the rest of the budget)."""
        return {"controller": self.config.controller_steps}

    # --- the low level ------------------------------------------------------------------------------------------
    def control(self, controller, pose: jax.Array, target: jax.Array) -> jax.Array:
        """(v, omega) in [-1, 1]^2 towards `target [2]` from `pose [3]`."""
        return jnp.tanh(self.controller_net.apply(controller, relative(pose, target, self.env.arena)))

    def drive(self, controller, pose: jax.Array, target: jax.Array) -> jax.Array:
        """`[T + 1, 3]` poses of a whole episode driven towards `target`; differentiable in `controller`."""
        def step(pose, _):
            pose = self.env.advance(pose, self.control(controller, pose, target))
            return pose, pose

        _, poses = jax.lax.scan(step, pose, None, length=self.env.max_episode_steps)
        return jnp.concatenate([pose[None], poses])

    def controller_loss(self, controller, key: jax.Array) -> tuple[jax.Array, dict]:
        tasks = jax.vmap(self.env.initial_state)(jax.random.split(key, self.config.batch_size))
        targets = tasks.resources[:, 0]
        poses = jax.vmap(self.drive, in_axes=(None, 0, 0))(controller, tasks.pose, targets)
        distance = jnp.sqrt(jnp.sum((poses[:, :, :2] - targets[:, None]) ** 2, -1) + 1e-6)  # [B, T + 1]
        loss = distance.mean() + distance[:, -1].mean()
        return loss, {"controller_loss": loss, "controller_final_distance": distance[:, -1].mean()}

    # --- the high level -----------------------------------------------------------------------------------------
    def logits(self, policy, pose: jax.Array, resources: jax.Array) -> jax.Array:
        """`[resources]` logits of going to each resource."""
        return self.policy_net.apply(policy, relative(pose, resources, self.env.arena))[..., 0]

    def policy_loss(self, policy, controller, key: jax.Array) -> tuple[jax.Array, dict]:
        task_key, pick_key = jax.random.split(key)
        tasks = jax.vmap(self.env.initial_state)(jax.random.split(task_key, self.config.batch_size))
        logits = jax.vmap(self.logits, in_axes=(None, 0, 0))(policy, tasks.pose, tasks.resources)
        picks = jax.random.categorical(pick_key, logits)
        targets = jnp.take_along_axis(tasks.resources, picks[:, None, None], axis=1)[:, 0]
        finals = jax.vmap(lambda p, t: self.drive(controller, p, t)[-1])(tasks.pose, targets)
        reward = -jax.vmap(self.env.nearest_distance)(finals, tasks.resources)
        advantage = jax.lax.stop_gradient(reward - reward.mean())
        log_probs = jax.nn.log_softmax(logits)
        chosen = jnp.take_along_axis(log_probs, picks[:, None], axis=1)[:, 0]
        entropy = -jnp.sum(jnp.exp(log_probs) * log_probs, -1).mean()
        loss = -jnp.mean(advantage * chosen) - self.config.entropy_coef * entropy
        nearest = jnp.argmin(jnp.linalg.norm(tasks.resources - tasks.pose[:, None, :2], axis=-1), axis=-1)
        return loss, {"policy_loss": loss, "policy_return": reward.mean(), "policy_entropy": entropy,
                      "policy_picks_nearest": jnp.mean(picks == nearest)}

    # --- training -----------------------------------------------------------------------------------------------
    def update(self, state: TargetState, phase: str, key: jax.Array) -> tuple[TargetState, dict]:
        if phase == "controller":
            grads, info = jax.grad(self.controller_loss, has_aux=True)(state.controller, key)
            updates, opt = self.controller_optimizer.update(grads, state.controller_opt, state.controller)
            return state.replace(controller=optax.apply_updates(state.controller, updates), controller_opt=opt), info
        grads, info = jax.grad(self.policy_loss, has_aux=True)(state.policy, state.controller, key)
        updates, opt = self.policy_optimizer.update(grads, state.policy_opt, state.policy)
        return state.replace(policy=optax.apply_updates(state.policy, updates), policy_opt=opt), info

    # --- acting -------------------------------------------------------------------------------------------------
    def initial_memory(self, episodes: int) -> jax.Array:
        """The chosen resource of each episode (-1 before its first step)."""
        return jnp.full((episodes,), -1, jnp.int32)

    def act(self, state: TargetState, memory: jax.Array, obs: jax.Array, first: jax.Array,
            key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Greedy: pick the most likely resource at an episode's first step and keep it; drive towards it."""
        del key
        pose, resources = pose_of(obs), resources_of(obs)
        picks = jnp.argmax(jax.vmap(self.logits, in_axes=(None, 0, 0))(state.policy, pose, resources), -1)
        memory = jnp.where(first, picks, memory)
        targets = jnp.take_along_axis(resources, memory[:, None, None], axis=1)[:, 0]
        return memory, jax.vmap(self.control, in_axes=(None, 0, 0))(state.controller, pose, targets)

    def evaluate(self, state: TargetState, env: UnicycleResources, episodes: int,
                 key: jax.Array) -> tuple[np.ndarray, dict]:
        """(returns, metrics) of `episodes` greedy episodes of `env`: `selection_accuracy` (the pick was the
        resource nearest the start) and `final_rmse` (RMS distance from the final position to the picked one)."""
        returns, metrics = self._evaluate(state, env, episodes, key)
        return np.asarray(returns), {name: float(value) for name, value in metrics.items()}

    @partial(jax.jit, static_argnums=(0, 2, 3))
    def _evaluate(self, state: TargetState, env: UnicycleResources, episodes: int, key: jax.Array):
        memory = self.initial_memory(episodes)
        returns = evaluate_jax_with_memory(env, partial(self.act, state), memory, key, episodes)
        obs, _ = trajectories_jax(env, self.act, state, memory, key, episodes)  # the same episodes (same key)
        picks, _ = self.act(state, memory, obs[0], jnp.ones(episodes, bool), key)
        resources = resources_of(obs[0])
        nearest = jnp.argmin(jnp.linalg.norm(resources - obs[0][:, None, :2], axis=-1), axis=-1)
        picked = jnp.take_along_axis(resources, picks[:, None, None], axis=1)[:, 0]
        error = jnp.sum((obs[-1][:, :2] - picked) ** 2, -1)
        return returns, {"selection_accuracy": jnp.mean(picks == nearest), "final_rmse": jnp.sqrt(error.mean())}
