"""Conservative Q-Learning (Kumar et al. 2020), the offline baseline: SAC whose critic step adds CQL(H)'s
penalty, trained from a dataset alone.

The penalty pushes Q down on actions the dataset does not hold and up on the ones it does:
`weight * (logsumexp_a Q(s, a) - Q(s, a_data))`, the log-sum-exp estimated by importance sampling over
uniform actions and policy actions at s and s' (each term minus its log-density). Everything else (actor,
temperature, target) is SAC's. As an off-policy agent it is `offline`: every step of the run is a gradient step
on the dataset (a static data source, never re-saved in checkpoints) and the env is only used to evaluate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import jax
import jax.numpy as jnp

from agents.networks import sample_tanh_gaussian
from agents.sac import SAC, SACConfig, SACState
from core import replay
from core.protocols import DATASET, Buffers
from core.transitions import Transition
from core.validation import non_negative, non_negative_number, positive, positive_number


@dataclass(frozen=True)
class CQLConfig(SACConfig):
    """CQL hyperparameters (SAC's, plus the conservative penalty). --total-steps counts gradient steps."""

    cql_weight: Annotated[float, non_negative_number] = 5.0
    """Weight of the conservative penalty (the paper's alpha for the D4RL MuJoCo tasks); 0: plain offline SAC."""
    cql_samples: Annotated[int, positive] = 10
    """Actions sampled per state and per source (uniform, policy at s, policy at s') for the log-sum-exp."""
    buffer_size: Annotated[int, positive] = 1
    """Online replay capacity; CQL takes no env steps, so it holds nothing."""
    learning_starts: Annotated[int, non_negative] = 0
    """Unused: CQL takes no env steps."""
    actor_lr: Annotated[float, positive_number] = 1e-4
    """Adam learning rate of the actor (the paper uses a lower actor than critic rate offline)."""


class CQL(SAC):
    """SAC with CQL's critic step; samples its batches from the static `dataset` source."""

    offline = True
    uses_static_data = True

    def sample_batch(self, buffers: Buffers, state: SACState, key: jax.Array) -> Transition:
        return replay.sample(buffers.static[DATASET], key, self.config.batch_size)

    def can_update(self, buffers: Buffers) -> jax.Array:
        return replay.can_sample(buffers.static[DATASET])

    def conservative_penalty(self, critic, state: SACState, batch: Transition, key: jax.Array):
        """`logsumexp_a Q(s, a) - Q(s, a_data)` per critic, averaged over the batch."""
        n, batch_size = self.config.cql_samples, batch["obs"].shape[0]
        uniform_key, now_key, next_key = jax.random.split(key, 3)
        repeat = lambda x: jnp.repeat(x[None], n, axis=0).reshape(n * batch_size, *x.shape[1:])
        obs, next_obs = repeat(batch["obs"]), repeat(batch["next_obs"])

        def q_of(actions):  # [critics, n, batch]
            return self.critic_net.apply(critic, obs, actions).reshape(-1, n, batch_size)

        def policy_actions(at, sample_key):
            mean, log_std = self.actor_net.apply(state.actor, at)
            action, logp = sample_tanh_gaussian(mean, log_std, sample_key)
            return jax.lax.stop_gradient(action), jax.lax.stop_gradient(logp).reshape(n, batch_size)

        uniform = jax.random.uniform(uniform_key, (n * batch_size, self.action_dim), minval=-1.0, maxval=1.0)
        uniform_logp = -self.action_dim * math.log(2.0)  # density of the uniform box [-1, 1]^d
        now_action, now_logp = policy_actions(obs, now_key)
        next_action, next_logp = policy_actions(next_obs, next_key)
        samples = jnp.concatenate([q_of(uniform) - uniform_logp, q_of(now_action) - now_logp,
                                   q_of(next_action) - next_logp], axis=1)
        logsumexp = jax.scipy.special.logsumexp(samples, axis=1)
        data_q = self.critic_net.apply(critic, batch["obs"], batch["action"])
        return jnp.mean(logsumexp - data_q, axis=-1)  # [critics]

    def critic_loss(self, critic, state: SACState, batch: Transition, key: jax.Array):
        td_key, penalty_key = jax.random.split(key)
        td_loss, info = super().critic_loss(critic, state, batch, td_key)
        penalty = self.conservative_penalty(critic, state, batch, penalty_key)
        loss = td_loss + self.config.cql_weight * penalty.sum()
        return loss, {**info, "critic_loss": loss, "td_loss": td_loss, "cql_penalty": penalty.mean()}

