"""MOORL: meta offline-online RL (Chaudhary, Mondal, Behera, "MOORL: A Framework for Integrating Offline-Online
Reinforcement Learning", TMLR 2025, arXiv 2506.09574).

Plain SAC (agents/sac.py) that treats the offline dataset (`--dataset`, the static `dataset` source) and the
online replay as two tasks, with a Reptile-style outer step. One meta-iteration, one `update` call:

1. draw the buffer from the learner's key: the offline one with probability `p_off`, and always while the
   online replay holds fewer than `max(warmup_on, batch_size)` rows (so it is never sampled before it holds a
   batch);
2. from the meta parameters (actor phi_m, twin critics theta_m), K inner SAC steps on K minibatches of that
   buffer, as one `lax.scan`;
3. the meta step, a tree map on actor and critics: P_m <- P_m + meta_step (P_K - P_m);
4. the target critics follow the *meta* critics once per meta-iteration at the rate of K SAC steps,
   tau_K = 1 - (1 - tau)^K, and stay fixed during the inner steps.

The temperature (log alpha) is not a meta parameter: each inner step updates it, and it carries on. Adam's
moments persist across meta-iterations (the inner parameters restart from the meta parameters, their optimiser
statistics do not); `--reset-inner-opt` restarts them too. With K = 1 and meta step 1 an update is exactly SAC's.

The paper has no public code, so what its Algorithm 1 leaves open is an option here: `inner_reading` B (default)
takes K env steps and K updates per meta-iteration (update-to-data ratio 1, as the paper stresses no high ratio),
A one env step and K updates (ratio K). The loop collects a meta-iteration's env steps with the meta actor, then
runs its K updates in one compiled scan, on every env (a host-stepped MuJoCo env cannot step inside the scan, and
one rule for all envs keeps runs comparable), so the acting policy lags the inner one by at most K steps.

At every evaluation the agent logs the meta critic's mean Q on offline and on online transitions next to their
discounted Monte-Carlo returns (core/return_probe.py), since the paper claims MOORL's Q-values stay stable.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Annotated, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from agents.sac import SAC, SACConfig, SACState
from core import replay, return_probe
from core.protocols import DATASET, Buffers
from core.transitions import Transition
from core.validation import flag, non_negative, one_of, optional, positive, positive_number, unit_interval
from envs.protocol import EnvSpec

PROBE_SEED = 0  # the probe rows are the same at every evaluation, so the Q curve is not sampling noise


@dataclass(frozen=True)
class MOORLConfig(SACConfig):
    """MOORL hyperparameters: SAC's, plus the meta-iteration. --dataset is the offline data, --env the online env."""

    inner_steps: Annotated[int, positive] = 5
    """K: inner SAC steps per meta-iteration (one compiled scan)."""
    meta_step: Annotated[float, unit_interval] = 0.5
    """eta_m: how far the meta parameters move towards the adapted ones (1: take them; 0: never move)."""
    p_off: Annotated[float, unit_interval] = 0.5
    """Probability that a meta-iteration adapts on the offline buffer rather than the online one."""
    warmup_on: Annotated[int, non_negative] = 5000
    """Online transitions before the online buffer can be chosen (at least --batch-size in any case)."""
    inner_reading: Annotated[Literal["A", "B"], one_of("A", "B")] = "B"
    """B: K env steps and K updates per meta-iteration (update-to-data ratio 1); A: one env step, K updates."""
    reset_inner_opt: Annotated[bool, flag] = False
    """Restart the actor's and critics' Adam moments at every meta-iteration (default: they persist)."""
    offline_pretrain_steps: Annotated[int, non_negative] = 0
    """Gradient steps of meta-iterations before the first env step (a multiple of K; 0: none, as the paper)."""
    q_probe_rows: Annotated[int, non_negative] = 1000
    """Offline and online transitions (each) whose mean Q and Monte-Carlo return every evaluation logs; 0: none."""
    learning_starts: Annotated[int, non_negative] = 0
    """Env steps of uniform random actions before the first update (MOORL acts with its policy from the start)."""
    updates_per_step: Annotated[float | None, optional(positive_number)] = None
    """Gradient steps per env step; default: 1 in reading B, K in reading A."""
    train_every: Annotated[int | None, optional(positive)] = None
    """Loop iterations between bursts of updates; default: K in reading B (one meta-iteration per K env steps),
    1 in reading A."""


@struct.dataclass
class MetaBatch:
    """One meta-iteration's draws: K minibatches `[K, batch, ...]` of one buffer, and which buffer it was."""

    transitions: Transition
    offline: jax.Array


class MOORL(SAC):
    """SAC whose update is a meta-iteration: K inner steps on one buffer, then the Reptile step."""

    uses_static_data = True

    def __init__(self, config: MOORLConfig, spec: EnvSpec):
        super().__init__(resolved(config), spec)
        self.inner_steps = config.inner_steps
        # tau_K = 1 - (1 - tau)^K is SAC's per-step rate compounded; for K = 1 it is tau itself, exactly.
        self.meta_tau = config.tau if config.inner_steps == 1 else 1.0 - (1.0 - config.tau) ** config.inner_steps

    def update_steps(self) -> int:
        return self.inner_steps

    def pretrain_updates(self) -> int:
        return self.config.offline_pretrain_steps

    # --- which buffer, and its K minibatches -------------------------------------------------------------------
    def can_update(self, buffers: Buffers) -> jax.Array:
        return replay.can_sample(buffers.static[DATASET])

    def online_ready(self, buffers: Buffers) -> jax.Array:
        return buffers.online.size >= max(self.config.warmup_on, self.config.batch_size)

    def sample_batch(self, buffers: Buffers, state: SACState, key: jax.Array) -> MetaBatch:
        choice_key, batch_key = jax.random.split(key)
        offline = ~self.online_ready(buffers) | (jax.random.uniform(choice_key) < self.config.p_off)
        keys = jax.random.split(batch_key, self.inner_steps)
        rows = lambda source, k: replay.sample(source, k, self.config.batch_size).without_extras()
        draw = lambda source: jax.vmap(lambda k: rows(source, k))(keys)
        # A cond, not a select: the buffer not chosen is not read at all (an empty online replay in particular).
        transitions = jax.lax.cond(offline, lambda: draw(buffers.static[DATASET]), lambda: draw(buffers.online))
        return MetaBatch(transitions, offline)

    # --- one meta-iteration --------------------------------------------------------------------------------------
    def inner_step(self, state: SACState, batch: Transition, key: jax.Array) -> tuple[SACState, dict]:
        """SAC's critic, actor and temperature steps; no target update (the targets move once per meta-iteration)."""
        critic_key, actor_key = jax.random.split(key)
        state, critic_info = self.critic_step(state, batch, critic_key)
        state, actor_info = self.actor_step(state, batch, actor_key)
        state, alpha_info = self.temperature_step(state, actor_info["entropy"])
        return state, {**critic_info, **actor_info, **alpha_info}

    def update(self, state: SACState, batch: MetaBatch, key: jax.Array) -> tuple[SACState, dict]:
        # One key for K = 1, so that the degenerate meta-iteration is SAC's update given the same key.
        keys = key[None] if self.inner_steps == 1 else jax.random.split(key, self.inner_steps)
        start = self._inner_start(state)
        inner, infos = jax.lax.scan(lambda s, xs: self.inner_step(s, *xs), start, (batch.transitions, keys))
        actor = optax.incremental_update(inner.actor, state.actor, self.config.meta_step)
        critic = optax.incremental_update(inner.critic, state.critic, self.config.meta_step)
        target = optax.incremental_update(critic, state.target_critic, self.meta_tau)
        state = inner.replace(actor=actor, critic=critic, target_critic=target,
                              updates=state.updates + self.inner_steps)
        info = jax.tree.map(jnp.mean, infos)
        return state, {**info, "offline_batch": batch.offline.astype(jnp.float32)}

    def _inner_start(self, state: SACState) -> SACState:
        if not self.config.reset_inner_opt:
            return state
        return state.replace(actor_opt=self.actor_tx.init(state.actor), critic_opt=self.critic_tx.init(state.critic))

    # --- Q-values next to Monte-Carlo returns --------------------------------------------------------------------
    def diagnostics(self, state: SACState, buffers: Buffers, key: jax.Array) -> dict:
        rows = self.config.q_probe_rows
        if rows == 0:
            return {}
        metrics = {}
        sources = {"offline": (buffers.static[DATASET], 1), "online": (buffers.online, self.config.num_envs)}
        for name, (buffer, num_envs) in sources.items():
            found = return_probe.probe(buffer, num_envs, self.config.gamma, rows, PROBE_SEED)
            if found is None:
                continue
            obs, action, returns = found
            q = np.asarray(self._mean_q(state.critic, obs, action))
            metrics[f"q_{name}"] = float(q.mean())
            metrics[f"mc_return_{name}"] = float(returns.mean())
        return metrics

    @functools.partial(jax.jit, static_argnums=0)
    def _mean_q(self, critic, obs, action):
        return self.critic_net.apply(critic, obs, action).mean(axis=0)


def resolved(config: MOORLConfig) -> MOORLConfig:
    """The config with the reading's update ratio and burst period in place of their None defaults."""
    k = config.inner_steps
    ratio, period = (1.0, k) if config.inner_reading == "B" else (float(k), 1)
    return dataclasses.replace(config,
                               updates_per_step=ratio if config.updates_per_step is None else config.updates_per_step,
                               train_every=period if config.train_every is None else config.train_every)
