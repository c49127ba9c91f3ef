"""H2O: dynamics-aware hybrid offline-and-online RL (Niu et al. 2022, "When to Trust Your Simulator").

One SAC-style agent learns from a fixed dataset of the *real* system (the static `dataset` source, `--dataset`)
and from transitions it collects in an imperfect *simulator* (the online replay, `--env`, e.g. a `shift:` env).
Two classifiers (agents/dynamics_classifiers.py) learn to tell real from simulated transitions; from their
logits, the log density ratio `rho(s, a, s')` of real to simulated dynamics gives each simulated transition

- an importance weight `w = clip(exp(rho), 1e-5, 1)` on its TD error (a sim sample is never up-weighted), and
- a dynamics-gap score `u(s, a) = mean_k -rho(s, a, s' + sigma eps_k)`, which decides where the critic is pushed
  down: the penalty `beta * (logsumexp_j [Q(s_j, a_j) + log omega_j] - mean_real Q)` with `omega = u / sum(u)`
  over the simulated half-batch puts most of the push-down on the pairs the simulator gets most wrong, while
  the real data is pushed up.

One update: (1) a classifier step on its own real and sim batches (jittered); (2) `w`, `u`, `omega` from the
updated classifiers, held constant; (3) critic, actor and temperature gradients, all at the current
parameters, then Adam; (4) the Polyak target. The critic's backup has no entropy term (`backup_entropy` off).
`--naive-mixing` sets `w = 1` and `beta = 0`: SAC on half real, half simulated batches, the ablation that
isolates the dynamics-aware terms. Where the paper's code and this one differ: its log-std head
(we keep SAC's networks here, so H2O and its SAC baselines share them), and the gap score's floor (ours is the
smallest normal float32, and `omega` is formed in log space, so a batch of scores all at the floor gives
uniform weights rather than 0/0).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from agents.dynamics_classifiers import DynamicsClassifiers, jitter
from agents.sac import SAC, SACConfig, SACState
from core import holdout, replay
from core.protocols import DATASET, Buffers
from core.transitions import Transition
from core.validation import (
    ConfigError,
    flag,
    non_negative,
    non_negative_number,
    number_in,
    one_of,
    optional,
    positive,
    positive_number,
    widths,
)
from envs.protocol import EnvSpec

WEIGHT_RANGE = (1e-5, 1.0)  # clip of the importance weight exp(rho)
# Clip of the gap score before its log; the floor is the smallest *normal* float32, which XLA keeps (the paper
# code's 1e-45 is a subnormal, flushed to zero on CPU and GPU).
GAP_RANGE = (float(np.finfo(np.float32).tiny), 10.0)
PENALTY_CLIP = 1000.0
SIGMA_FLOOR = 1e-3  # added to the next-state noise scale, so constant state dimensions still get some noise
OFFICIAL_SIGMA_PAD = 11  # the official code's buffer holds N real rows then 10 N zero rows when it takes the std


@dataclass(frozen=True)
class H2OConfig(SACConfig):
    """H2O hyperparameters (SAC's, plus the classifiers and the dynamics-aware terms). --env is the simulator,
    --dataset the real data, --eval-env the real system."""

    learning_starts: Annotated[int, non_negative] = 0
    """Sim steps of uniform random actions before the first update (H2O starts from its policy at once)."""
    buffer_size: Annotated[int | None, optional(positive)] = None
    """Sim replay capacity (FIFO); default: --sim-buffer-ratio x the dataset's rows."""
    sim_buffer_ratio: Annotated[float, positive_number] = 10.0
    """Sim replay capacity as a multiple of the real dataset's size, when --buffer-size is not given."""
    backup_entropy: Annotated[bool, flag] = False
    """H2O's critic target has no entropy term; --backup-entropy adds SAC's."""
    real_fraction: Annotated[float, number_in(0, 1, open_low=True)] = 0.5
    """Share of each RL batch drawn from the real dataset; the rest comes from the sim replay."""
    classifier_hidden: Annotated[tuple[int, ...], widths] = (256, 256)
    """Hidden widths of each dynamics classifier."""
    classifier_lr: Annotated[float, positive_number] = 3e-4
    """Adam learning rate of the classifiers."""
    classifier_batch: Annotated[int, positive] = 256
    """Real and sim transitions (each) per classifier step, drawn apart from the RL batch."""
    classifier_noise: Annotated[float, non_negative_number] = 0.1
    """Std of the Gaussian jitter on s, a and s' of the classifier batches."""
    penalty_weight: Annotated[float, non_negative_number] = 0.01
    """beta: weight of the dynamics-gap-weighted conservative penalty."""
    next_state_samples: Annotated[int, positive] = 10
    """Perturbed next states per sim transition in its gap score."""
    sigma_mode: Annotated[Literal["official", "data_std"], one_of("official", "data_std")] = "official"
    """Next-state noise scale: `official` reproduces the paper code's statistic (about 0.3x the real states' RMS),
    `data_std` is the real states' standard deviation; both plus 1e-3."""
    sigma_ratio: Annotated[float, non_negative_number] = 1.0
    """Multiplier of the next-state noise scale."""
    naive_mixing: Annotated[bool, flag] = False
    """Ablation: importance weight 1 and no penalty (SAC on mixed real and sim batches)."""


@struct.dataclass
class H2OState(SACState):
    classifiers: dict
    classifier_opt: optax.OptState
    next_state_noise: jax.Array  # sigma, per observation dimension, from the real dataset


@struct.dataclass
class H2OBatch:
    """One update's draws: the RL batch's real and sim halves, the classifiers' training batches (from the
    training rows of core/holdout.py) and their held-out batches."""

    real: Transition
    sim: Transition
    real_fit: Transition
    sim_fit: Transition
    real_held_out: Transition
    sim_held_out: Transition


@struct.dataclass
class CriticBatch:
    real: Transition
    sim: Transition
    sim_weight: jax.Array  # w per sim row
    log_omega: jax.Array  # log of the normalised gap score per sim row


class H2O(SAC):
    """SAC with H2O's classifiers, weighted critic and batch sampler (real dataset + sim replay)."""

    uses_static_data = True

    def __init__(self, config: H2OConfig, spec: EnvSpec):
        super().__init__(config, spec)
        self.real_rows = round(config.batch_size * config.real_fraction)
        if not 0 < self.real_rows < config.batch_size:
            raise ConfigError(f"--batch-size {config.batch_size} x --real-fraction {config.real_fraction} leaves "
                              f"{self.real_rows} real and {config.batch_size - self.real_rows} sim rows; both "
                              f"must be at least 1")
        self.sim_rows = config.batch_size - self.real_rows
        self.classifiers = DynamicsClassifiers(config.classifier_hidden)
        self.classifier_tx = optax.adam(config.classifier_lr)

    # --- state that depends on the data --------------------------------------------------------------------------
    def init(self, key: jax.Array) -> H2OState:
        raise TypeError("H2O's learner state depends on its real dataset: use init_with_data(key, static)")

    def init_with_data(self, key: jax.Array, static: dict[str, replay.ReplayState]) -> H2OState:
        sac_key, classifier_key = jax.random.split(key)
        base = super().init(sac_key)
        classifiers = jax.jit(self.classifiers.init, static_argnums=(1, 2))(classifier_key, self.obs_dim,
                                                                        self.action_dim)  # eagerly: a compile per op
        fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
        return H2OState(**fields, classifiers=classifiers, classifier_opt=self.classifier_tx.init(classifiers),
                        next_state_noise=self.next_state_noise(static[DATASET]))

    def next_state_noise(self, dataset: replay.ReplayState) -> jax.Array:
        """sigma of the gap score's perturbations, from the real states (see `sigma_mode`)."""
        obs = np.asarray(dataset.data.obs[: int(dataset.size)], np.float64)
        if self.config.sigma_mode == "official":
            # The paper code's std over its preallocated buffer: the real rows followed by ten times as many zeros.
            mean_square, mean = (obs**2).mean(axis=0) / OFFICIAL_SIGMA_PAD, obs.mean(axis=0) / OFFICIAL_SIGMA_PAD
            std = np.sqrt(np.maximum(mean_square - mean**2, 0.0))
        else:
            std = obs.std(axis=0)
        return jnp.asarray(self.config.sigma_ratio * (std + SIGMA_FLOOR), jnp.float32)

    def replay_capacity(self, static: dict[str, replay.ReplayState]) -> int:
        if self.config.buffer_size is not None:
            return self.config.buffer_size
        return max(1, round(self.config.sim_buffer_ratio * int(static[DATASET].size)))

    # --- sampling --------------------------------------------------------------------------------------------------
    def sample_batch(self, buffers: Buffers, state: H2OState, key: jax.Array) -> H2OBatch:
        real, sim = buffers.static[DATASET], buffers.online
        keys = jax.random.split(key, 6)
        fit = self.config.classifier_batch
        return H2OBatch(
            real=replay.sample(real, keys[0], self.real_rows),
            sim=replay.sample(sim, keys[1], self.sim_rows),
            real_fit=holdout.sample_train(real, keys[2], fit),
            sim_fit=holdout.sample_train(sim, keys[3], fit),
            real_held_out=holdout.sample_held_out(real, keys[4], self.real_rows),
            sim_held_out=holdout.sample_held_out(sim, keys[5], self.sim_rows),
        )

    def can_update(self, buffers: Buffers) -> jax.Array:
        return replay.can_sample(buffers.online) & replay.can_sample(buffers.static[DATASET])

    # --- the dynamics-aware terms ------------------------------------------------------------------------------------
    def classifier_step(self, state: H2OState, batch: H2OBatch, key: jax.Array) -> tuple[H2OState, dict]:
        real_key, sim_key = jax.random.split(key)
        noise = self.config.classifier_noise
        real = jitter(batch.real_fit.without_extras(), real_key, noise)
        sim = jitter(batch.sim_fit.without_extras(), sim_key, noise)
        grads, info = jax.grad(self.classifiers.loss, has_aux=True)(state.classifiers, real, sim)
        updates, classifier_opt = self.classifier_tx.update(grads, state.classifier_opt)
        classifiers = optax.apply_updates(state.classifiers, updates)
        return state.replace(classifiers=classifiers, classifier_opt=classifier_opt), info

    def sim_weights(self, state: H2OState, sim: Transition, key: jax.Array) -> tuple[jax.Array, jax.Array, dict]:
        """(w, log omega, metrics) for the sim half-batch, from the current classifiers; constants to the critic."""
        classifiers = jax.lax.stop_gradient(state.classifiers)
        rho = self.classifiers.log_ratio(classifiers, sim.obs, sim.action, sim.next_obs)
        weight = jnp.clip(jnp.exp(rho), *WEIGHT_RANGE)
        samples = self.config.next_state_samples
        eps = jax.random.normal(key, (samples, *sim.next_obs.shape))
        perturbed = sim.next_obs[None] + state.next_state_noise * eps
        tile = lambda x: jnp.broadcast_to(x[None], (samples, *x.shape))
        gap = -self.classifiers.log_ratio(classifiers, tile(sim.obs), tile(sim.action), perturbed).mean(axis=0)
        log_gap = jnp.log(jnp.clip(gap, *GAP_RANGE))
        log_omega = log_gap - jax.scipy.special.logsumexp(log_gap)
        if self.config.naive_mixing:
            weight = jnp.ones_like(weight)
        info = {"sim_weight_mean": weight.mean(), "gap_score_mean": jnp.exp(log_gap).mean(),
                "omega_std": jnp.exp(log_omega).std()}
        return weight, log_omega, info

    def critic_loss(self, critic, state: H2OState, batch: CriticBatch, key: jax.Array):
        """Per head: real TD error + w-weighted sim TD error + beta * the gap-weighted conservative penalty."""
        both = _concat(batch.real, batch.sim)
        target = self.td_target(state, both, key)
        q = self.critic_net.apply(critic, both.obs, both.action)  # [heads, real + sim]
        real_rows = batch.real.reward.shape[0]
        q_real, q_sim = q[:, :real_rows], q[:, real_rows:]
        error = (q - target) ** 2
        td_real = error[:, :real_rows].mean(axis=-1)
        td_sim = (batch.sim_weight * error[:, real_rows:]).mean(axis=-1)
        push_down = jax.scipy.special.logsumexp(q_sim + batch.log_omega, axis=-1)
        penalty = jnp.clip(push_down - q_real.mean(axis=-1), -PENALTY_CLIP, PENALTY_CLIP)
        beta = 0.0 if self.config.naive_mixing else self.config.penalty_weight
        loss = jnp.sum(td_real + td_sim + beta * penalty)
        return loss, {"critic_loss": loss, "td_real": td_real.mean(), "td_sim": td_sim.mean(),
                      "conservative_penalty": penalty.mean(), "q_real": q_real.mean(), "q_sim": q_sim.mean()}

    # --- one update --------------------------------------------------------------------------------------------------
    def update(self, state: H2OState, batch: H2OBatch, key: jax.Array) -> tuple[H2OState, dict]:
        classifier_key, gap_key, critic_key, actor_key = jax.random.split(key, 4)
        state, classifier_info = self.classifier_step(state, batch, classifier_key)
        accuracy = self.classifiers.accuracy(state.classifiers, batch.real_held_out.without_extras(),
                                             batch.sim_held_out.without_extras())
        real, sim = batch.real.without_extras(), batch.sim.without_extras()
        weight, log_omega, weight_info = self.sim_weights(state, sim, gap_key)
        # Critic, actor and temperature gradients all at the current parameters: the critic's target uses the
        # pre-step actor, the actor's loss the pre-step critic.
        critic_state, critic_info = self.critic_step(state, CriticBatch(real, sim, weight, log_omega), critic_key)
        actor_state, actor_info = self.actor_step(state, _concat(real, sim), actor_key)
        state = state.replace(critic=critic_state.critic, critic_opt=critic_state.critic_opt,
                              actor=actor_state.actor, actor_opt=actor_state.actor_opt)
        state, alpha_info = self.temperature_step(state, actor_info["entropy"])
        state = self.target_step(state)
        info = {**classifier_info, **accuracy, **weight_info, **critic_info, **actor_info, **alpha_info}
        return state.replace(updates=state.updates + 1), info



def _concat(a: Transition, b: Transition) -> Transition:
    return jax.tree.map(lambda x, y: jnp.concatenate([x, y], axis=0), a.without_extras(), b.without_extras())
