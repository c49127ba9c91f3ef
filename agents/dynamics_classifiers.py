"""H2O's two dynamics classifiers (Niu et al. 2022): does a transition come from the real system or from the
simulator?

`g_sa(s, a)` and `g_sas(s, a, s')` each output two logits (index 0: real, 1: sim), squashed to [-2, 2] by
`2 tanh`. The state-action classifier reads `softmax(g_sa)`; the transition classifier reads
`softmax(g_sa + g_sas)`, so `g_sas` only has to model what s' adds. By Bayes' rule the log ratio of the real to
the simulated next-state density is then

    rho(s, a, s') = [log P_sas(real) - log P_sas(sim)] - [log P_sa(real) - log P_sa(sim)] = g_sas[0] - g_sas[1],

which is why it is computed from the logits, never from logs of probabilities, and why |rho| <= 4.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from agents.networks import MLP
from core.transitions import Transition

REAL, SIM = 0, 1
LOGIT_BOUND = 2.0


class BoundedLogits(nn.Module):
    """An MLP whose two logits are squashed to [-LOGIT_BOUND, LOGIT_BOUND]."""

    hidden: Sequence[int]

    @nn.compact
    def __call__(self, x):
        return LOGIT_BOUND * jnp.tanh(MLP(self.hidden, 2)(x))


class DynamicsClassifiers:
    """Pure functions of the classifier pair; their parameters are `{"sa": ..., "sas": ...}`."""

    def __init__(self, hidden: Sequence[int]):
        self.net = BoundedLogits(tuple(hidden))

    def init(self, key: jax.Array, obs_dim: int, action_dim: int) -> dict:
        sa_key, sas_key = jax.random.split(key)
        return {"sa": self.net.init(sa_key, jnp.zeros((1, obs_dim + action_dim))),
                "sas": self.net.init(sas_key, jnp.zeros((1, 2 * obs_dim + action_dim)))}

    def sa_logits(self, params: dict, obs, action):
        return self.net.apply(params["sa"], jnp.concatenate([obs, action], axis=-1))

    def sas_logits(self, params: dict, obs, action, next_obs):
        return self.net.apply(params["sas"], jnp.concatenate([obs, action, next_obs], axis=-1))

    def log_ratio(self, params: dict, obs, action, next_obs) -> jax.Array:
        """rho = log P_real(s'|s,a) - log P_sim(s'|s,a), in [-4, 4]."""
        logits = self.sas_logits(params, obs, action, next_obs)
        return logits[..., REAL] - logits[..., SIM]

    def log_probs(self, params: dict, batch: Transition) -> tuple[jax.Array, jax.Array]:
        """(log softmax(g_sa), log softmax(g_sa + g_sas)), each [B, 2]."""
        sa = self.sa_logits(params, batch.obs, batch.action)
        sas = sa + self.sas_logits(params, batch.obs, batch.action, batch.next_obs)
        return jax.nn.log_softmax(sa), jax.nn.log_softmax(sas)

    def loss(self, params: dict, real: Transition, sim: Transition) -> tuple[jax.Array, dict]:
        """Cross-entropy of both classifiers on real (label 0) and sim (label 1) transitions. `g_sa` gets the
        gradient of both terms, as both losses are summed before one step."""
        real_sa, real_sas = self.log_probs(params, real)
        sim_sa, sim_sas = self.log_probs(params, sim)
        sa_loss = -real_sa[:, REAL].mean() - sim_sa[:, SIM].mean()
        sas_loss = -real_sas[:, REAL].mean() - sim_sas[:, SIM].mean()
        return sa_loss + sas_loss, {"classifier_sa_loss": sa_loss, "classifier_sas_loss": sas_loss}

    def accuracy(self, params: dict, real: Transition, sim: Transition) -> dict:
        """Balanced accuracy of each classifier: the mean of its hit rates on real and on sim transitions."""
        real_sa, real_sas = self.log_probs(params, real)
        sim_sa, sim_sas = self.log_probs(params, sim)

        def balanced(real_lp, sim_lp):
            return 0.5 * ((real_lp[:, REAL] > real_lp[:, SIM]).mean() + (sim_lp[:, SIM] > sim_lp[:, REAL]).mean())

        return {"classifier_sa_accuracy": balanced(real_sa, sim_sa),
                "classifier_sas_accuracy": balanced(real_sas, sim_sas)}


def jitter(batch: Transition, key: jax.Array, std: float) -> Transition:
    """`N(0, std^2)` noise on s, a and s' (a regulariser of the classifiers' inputs)."""
    obs_key, action_key, next_key = jax.random.split(key, 3)
    noisy = lambda x, k: x + std * jax.random.normal(k, x.shape, x.dtype)
    return batch.replace(obs=noisy(batch.obs, obs_key), action=noisy(batch.action, action_key),
                         next_obs=noisy(batch.next_obs, next_key))
