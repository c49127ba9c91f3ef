"""The recurrent core: observe resets at `first`, imagination is H prior steps, the KL's free nats are per step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.worldmodels.wm_fixtures import ACTIONS, tiny_config
from worldmodels.rssm import RSSM, Latent, features

T, B, EMBED = 6, 2, 5


@pytest.fixture(scope="module")
def core():
    rssm = RSSM(tiny_config(), ACTIONS)
    return rssm, rssm.init(jax.random.PRNGKey(0), EMBED), jax.jit(rssm.observe)


def inputs(seed):
    embed_key, action_key = jax.random.split(jax.random.PRNGKey(seed))
    firsts = jnp.zeros((T, B), bool).at[0].set(True).at[3, 0].set(True)  # sequence 0 restarts at step 3
    return jax.random.normal(embed_key, (T, B, EMBED)), jax.random.normal(action_key, (T, B, ACTIONS)), firsts


def test_observe_resets_at_first(core):
    rssm, params, observe = core
    embeds, actions, firsts = inputs(0)
    other_embeds, other_actions, _ = inputs(1)
    # Different inputs before the restart, and a different action at it (an action at `first` is ignored).
    changed_embeds = embeds.at[:3].set(other_embeds[:3])
    changed_actions = actions.at[:4].set(other_actions[:4])
    key = jax.random.PRNGKey(2)
    posts, priors = observe(params, embeds, actions, firsts, key)
    posts2, priors2 = observe(params, changed_embeds, changed_actions, firsts, key)
    for a, b in [(posts, posts2), (priors, priors2)]:
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
            np.testing.assert_allclose(x[3:, 0], y[3:, 0], atol=1e-6)  # sequence 0 from its restart on
        assert not np.allclose(a.deter[3:, 1], b.deter[3:, 1]), "sequence 1 did not restart, so it remembers"
    initial = rssm.initial(params, (B,))
    first_deter = rssm.net.apply(params, initial.deter, initial.stoch, jnp.zeros((B, ACTIONS)),
                                 method=type(rssm.net).transition)
    np.testing.assert_allclose(priors.deter[0], first_deter, atol=1e-6)
    np.testing.assert_allclose(priors.deter[3, 0], first_deter[0], atol=1e-6)


def test_imagination_over_h_steps_equals_h_prior_steps(core):
    rssm, params, _ = core
    start = rssm.initial(params, (3,))
    start = start.replace(deter=start.deter + jax.random.normal(jax.random.PRNGKey(3), start.deter.shape))

    def policy(feats, key):  # depends on both the state and the key, as an actor would
        return jnp.tanh(feats[:, :ACTIONS] + jax.random.normal(key, (feats.shape[0], ACTIONS)))

    key, horizon = jax.random.PRNGKey(4), 5
    states, actions = jax.jit(rssm.imagine, static_argnums=(2, 4))(params, start, policy, key, horizon)
    assert states.deter.shape == (horizon, 3, 16) and actions.shape == (horizon, 3, ACTIONS)
    state = start
    for k, step_key in enumerate(jax.random.split(key, horizon)):
        policy_key, prior_key = jax.random.split(step_key)
        action = policy(features(state), policy_key)
        state = rssm.prior_step(params, state, action, prior_key)
        np.testing.assert_allclose(actions[k], action, atol=1e-5)
        for x, y in zip(jax.tree.leaves(jax.tree.map(lambda s, k=k: s[k], states)), jax.tree.leaves(state)):
            np.testing.assert_allclose(x, y, atol=1e-5)


def test_kl_balance_clips_free_nats_per_step(core):
    rssm, _, _ = core
    log_uniform = jnp.full((2, 4, 4), jnp.log(0.25))
    peaked = jnp.log(jax.nn.softmax(jnp.array([[[5.0, 0, 0, 0]] * 4, [[0.0, 0, 0, 0]] * 4])))
    deter = jnp.zeros((2, 16))
    loss, _ = rssm.kl_loss(Latent(deter, jnp.exp(peaked), peaked), Latent(deter, jnp.exp(log_uniform), log_uniform))
    kl0 = float(jnp.sum(jnp.exp(peaked[0]) * (peaked[0] - log_uniform[0])))
    assert kl0 > 1.0
    np.testing.assert_allclose(loss, [0.6 * kl0, 0.6 * 1.0], rtol=1e-5)  # step 1's KL is 0, clipped to 1
