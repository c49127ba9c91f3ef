"""H2O's pieces against their definitions: the log dynamics ratio is the logit gap, the importance weight lies in
[e^-4, 1], the gap-weighted penalty stays finite when every gap score is at its floor, the naive-mixing ablation
is SAC's critic on the mixed batch, the next-state noise follows its formula, and one update is finite."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agents.h2o import H2O, CriticBatch, H2OConfig, _concat
from agents.sac import SAC, SACConfig
from core import replay
from core.protocols import DATASET, Buffers
from core.transitions import Transition
from envs.protocol import EnvSpec
from envs.spaces import Box

OBS, ACT, ROWS = 3, 2, 64
SPEC = EnvSpec("toy", Box.uniform(-np.inf, np.inf, (OBS,)), Box.uniform(-1, 1, (ACT,)), 50)
TINY = dict(hidden=(16, 16), classifier_hidden=(16, 16), batch_size=16, classifier_batch=16)


def transitions(key, n=ROWS, shift=0.0) -> Transition:
    obs_key, act_key, next_key, reward_key = jax.random.split(key, 4)
    obs = jax.random.normal(obs_key, (n, OBS))
    return Transition(obs=obs, action=jax.random.uniform(act_key, (n, ACT), minval=-1, maxval=1),
                      reward=jax.random.normal(reward_key, (n,)),
                      next_obs=obs + shift + 0.1 * jax.random.normal(next_key, (n, OBS)),
                      terminated=jnp.zeros(n, bool), truncated=jnp.zeros(n, bool), first=jnp.zeros(n, bool))


@pytest.fixture(scope="module")
def setup():
    agent = H2O(H2OConfig(**TINY), SPEC)
    real, sim = transitions(jax.random.PRNGKey(1)), transitions(jax.random.PRNGKey(2), shift=1.0)
    static = {DATASET: replay.from_arrays(real)}
    state = agent.init_with_data(jax.random.PRNGKey(0), static)
    return agent, state, real, sim, static


def test_log_ratio_is_the_logit_gap_of_the_bayes_ratio(setup):
    agent, state, real, sim, _ = setup
    classifiers = agent.classifiers
    sa, sas = jax.jit(classifiers.log_probs)(state.classifiers, sim)
    bayes = (sas[:, 0] - sas[:, 1]) - (sa[:, 0] - sa[:, 1])
    rho = jax.jit(classifiers.log_ratio)(state.classifiers, sim.obs, sim.action, sim.next_obs)
    np.testing.assert_allclose(rho, bayes, atol=1e-5)
    assert not np.allclose(rho, 0.0), "a random classifier still has a non-zero gap"


def test_weight_and_gap_score_stay_in_their_derived_ranges(setup):
    agent, state, _, sim, _ = setup
    # Classifiers blown up so that their tanh saturates: rho reaches its bounds of -4 and 4.
    loud = state.replace(classifiers=jax.tree.map(lambda p: 100.0 * p, state.classifiers))
    log_ratio, sim_weights = jax.jit(agent.classifiers.log_ratio), jax.jit(agent.sim_weights)
    for candidate in (state, loud):
        rho = log_ratio(candidate.classifiers, sim.obs, sim.action, sim.next_obs)
        assert np.all(np.abs(rho) <= 4.0 + 1e-5)
        weight, log_omega, info = sim_weights(candidate, sim, jax.random.PRNGKey(3))
        assert np.all(weight >= math.exp(-4) - 1e-6) and np.all(weight <= 1.0)
        np.testing.assert_allclose(jax.scipy.special.logsumexp(log_omega), 0.0, atol=1e-5)
        assert 0 < info["gap_score_mean"] <= 4.0 + 1e-5
    rho_loud = log_ratio(loud.classifiers, sim.obs, sim.action, sim.next_obs)
    assert np.abs(rho_loud).max() > 3.9, "the saturated classifier reaches the bound"


def saturated(classifiers: dict, logits) -> dict:
    """Classifier params whose transition head outputs 2 tanh(logits) for every input."""
    out_layer = sorted(classifiers["sas"]["params"]["MLP_0"])[-1]

    def fix(path, leaf):
        names = [getattr(p, "key", None) for p in path]
        if names[0] == "sas" and out_layer in names:
            return jnp.zeros_like(leaf) if names[-1] == "kernel" else jnp.asarray(logits, leaf.dtype)
        return leaf

    return jax.tree_util.tree_map_with_path(fix, classifiers)


def test_penalty_is_finite_when_every_gap_score_is_at_its_floor(setup):
    agent, state, real, sim, _ = setup
    # rho = 2 tanh(9) - 2 tanh(-9) = 4 everywhere, so every gap score -4 is clipped to the floor; the paper code's
    # u / sum(u) is 0/0 there once the floor (a subnormal) is flushed to zero.
    state = state.replace(classifiers=saturated(state.classifiers, [9.0, -9.0]))
    weight, log_omega, info = jax.jit(agent.sim_weights)(state, sim, jax.random.PRNGKey(4))
    np.testing.assert_allclose(log_omega, -math.log(ROWS), rtol=1e-5)
    np.testing.assert_allclose(weight, 1.0)
    loss, critic_info = jax.jit(agent.critic_loss)(state.critic, state, CriticBatch(real, sim, weight, log_omega),
                                                   jax.random.PRNGKey(5))
    assert np.isfinite(loss) and np.isfinite(critic_info["conservative_penalty"])
    grads = jax.jit(jax.grad(lambda c: agent.critic_loss(c, state, CriticBatch(real, sim, weight, log_omega),
                                                         jax.random.PRNGKey(5))[0]))(state.critic)
    assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads))


def test_naive_mixing_critic_loss_is_sacs_on_the_mixed_batch(setup):
    _, state, real, sim, _ = setup
    naive = H2O(H2OConfig(**TINY, naive_mixing=True), SPEC)
    sac = SAC(SACConfig(hidden=TINY["hidden"], batch_size=TINY["batch_size"], backup_entropy=False), SPEC)
    half = ROWS // 2
    real, sim = jax.tree.map(lambda x: x[:half], real), jax.tree.map(lambda x: x[:half], sim)
    weight, log_omega, _ = jax.jit(naive.sim_weights)(state, sim, jax.random.PRNGKey(6))
    assert np.all(weight == 1.0)
    key = jax.random.PRNGKey(7)
    h2o_loss, _ = jax.jit(naive.critic_loss)(state.critic, state, CriticBatch(real, sim, weight, log_omega), key)
    sac_loss, _ = jax.jit(sac.critic_loss)(state.critic, state, _concat(real, sim), key)
    # SAC's loss is 0.5 x the mean over the batch of the heads' summed squared errors; H2O's is, per head, the
    # mean over the real half plus the mean over the sim half, summed over heads: 4x SAC's on equal halves.
    np.testing.assert_allclose(h2o_loss, 4.0 * sac_loss, rtol=1e-5)
    with_penalty = H2O(H2OConfig(**TINY, penalty_weight=1.0), SPEC)
    penalised, _ = jax.jit(with_penalty.critic_loss)(state.critic, state, CriticBatch(real, sim, weight, log_omega),
                                                     key)
    assert not np.isclose(penalised, h2o_loss), "the penalty term is live when beta > 0"


def test_next_state_noise_is_the_official_padded_std_or_the_data_std(setup):
    agent, state, real, _, static = setup
    obs = np.asarray(real.obs, np.float64)
    padded = np.concatenate([obs, np.zeros((10 * ROWS, OBS))])
    np.testing.assert_allclose(state.next_state_noise, padded.std(axis=0) + 1e-3, rtol=1e-5)
    data_std = H2O(H2OConfig(**TINY, sigma_mode="data_std", sigma_ratio=2.0), SPEC)
    np.testing.assert_allclose(data_std.next_state_noise(static[DATASET]), 2.0 * (obs.std(axis=0) + 1e-3),
                               rtol=1e-5)
    assert agent.replay_capacity(static) == 10 * ROWS


def test_updates_are_finite_and_train_the_classifiers(setup):
    agent, state, _, sim, static = setup
    online = replay.add(replay.init(jax.tree.map(lambda x: x[0], sim), 4 * ROWS), sim)
    buffers = Buffers(online, static)
    assert bool(agent.can_update(buffers))
    batch = agent.sample_batch(buffers, state, jax.random.PRNGKey(8))
    assert batch.real.obs.shape == (8, OBS) and batch.sim_fit.obs.shape == (16, OBS)

    def one(state, key):
        sample_key, update_key = jax.random.split(key)
        return agent.update(state, agent.sample_batch(buffers, state, sample_key), update_key)

    train = jax.jit(lambda state: jax.lax.scan(one, state, jax.random.split(jax.random.PRNGKey(10), 300)))
    new, infos = train(state)
    first = jax.tree.map(lambda m: m[0], infos)
    for name in ("classifier_sa_accuracy", "classifier_sas_accuracy", "sim_weight_mean", "gap_score_mean",
                 "omega_std", "q_real", "q_sim", "critic_loss", "actor_loss", "alpha"):
        assert np.isfinite(first[name]) and np.all(np.isfinite(infos[name])), name
    assert int(new.updates) == 300
    # The classifiers learn to separate the shifted sim from the real rows within a few hundred steps.
    last = jax.tree.map(lambda m: m[-1], infos)
    assert first["classifier_sas_accuracy"] < 0.8 < last["classifier_sas_accuracy"], (first, last)
    assert last["sim_weight_mean"] < 0.9, last


def test_init_without_its_dataset_is_refused():
    with pytest.raises(TypeError, match="init_with_data"):
        H2O(H2OConfig(**TINY), SPEC).init(jax.random.PRNGKey(0))
