"""HRSSM's raw branch: no gradient, an exact EMA step, the raw posterior on the online h_t; the bisimulation
target's reward alignment."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.worldmodels.wm_fixtures import ACTIONS, fixed_batch, tiny_hrssm_config
from worldmodels.hrssm import HRSSM, RAW_BRANCH, bisimulation_loss, bisimulation_target
from worldmodels.networks import scale_images
from worldmodels.rssm import RSSMNet, features

KEY = jax.random.PRNGKey(7)


@pytest.fixture(scope="module")
def model_and_state():
    """A model whose EMA copy differs from its online parameters, as it does after the first updates."""
    model = HRSSM(tiny_hrssm_config(), ACTIONS)
    state = model.init(jax.random.PRNGKey(0))
    leaves, tree = jax.tree.flatten(state.ema)
    keys = jax.random.split(jax.random.PRNGKey(1), len(leaves))
    ema = jax.tree.unflatten(tree, [x + 0.1 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)])
    return model, state.replace(ema=ema)


def test_the_raw_branch_gets_no_gradient_and_the_online_branch_does(model_and_state):
    model, state = model_and_state
    grads = jax.jit(jax.grad(lambda params, ema: model.loss(params, ema, fixed_batch(), KEY)[0], argnums=(0, 1)))
    online, raw = grads(state.params, state.ema)
    assert all(bool(jnp.all(g == 0)) for g in jax.tree.leaves(raw))
    for name in RAW_BRANCH + ("reward", "cont"):
        assert any(bool(jnp.any(g != 0)) for g in jax.tree.leaves(online[name])), name


def test_an_update_moves_the_raw_branch_by_exactly_tau_times_the_gap(model_and_state):
    model, state = model_and_state
    tau = model.config.ema_tau
    new, _ = model.update(state, fixed_batch(), KEY)
    assert set(new.ema) == set(RAW_BRANCH)  # heads are not copied
    for name in RAW_BRANCH:
        for xi, theta, moved in zip(jax.tree.leaves(state.ema[name]), jax.tree.leaves(new.params[name]),
                                    jax.tree.leaves(new.ema[name])):
            np.testing.assert_allclose(moved - xi, tau * (theta - xi), atol=1e-7)
    # xi is no optimiser parameter: Adam's moments have the structure of theta alone.
    adam = new.opt_state[1][0]
    assert jax.tree.structure(adam.mu) == jax.tree.structure(new.params) == jax.tree.structure(adam.nu)


def test_the_raw_posterior_uses_the_online_state_and_the_ema_gru_only_forms_the_next_prior(model_and_state):
    """Two steps, worked through by hand from the single pieces of the EMA core."""
    model, state = model_and_state
    batch = jax.tree.map(lambda x: x[:2, :1], fixed_batch())
    batch = batch.replace(action=jnp.array([[[0.0, 0.0]], [[0.7, -0.4]]]))  # a_0 led to o_1
    ema, net = state.ema, RSSMNet
    online_deter = jax.random.normal(jax.random.PRNGKey(5), (2, 1, 16))
    posts, next_priors = jax.jit(model.raw_branch)(ema, online_deter, batch, KEY)
    post_key, prior_key = jax.random.split(KEY)

    apply = lambda method, *args: model.rssm.net.apply(ema["rssm"], *args, method=method)
    embed = model.encoder.apply(ema["encoder"], scale_images(batch.image[:, 0]))  # Enc_xi(o_0), Enc_xi(o_1)
    log_probs = model.rssm.log_probs(apply(net.posterior_logits, online_deter[:, 0], embed))
    np.testing.assert_allclose(posts.log_probs[:, 0], log_probs, atol=1e-5)  # q_xi(. | h_t, e-_t), online h_t
    np.testing.assert_array_equal(posts.deter, online_deter)
    # h-_1 = GRU_xi(h_0, z-_0, a_0), where a_0 is stored with o_1; the raw prior of step 1 comes from it.
    raw_deter_1 = apply(net.transition, online_deter[0], posts.stoch[0], batch.action[1])
    np.testing.assert_allclose(next_priors.deter[0], raw_deter_1, atol=1e-5)
    prior_1 = model.rssm.log_probs(apply(net.prior_logits, raw_deter_1))
    np.testing.assert_allclose(next_priors.log_probs[0], prior_1, atol=1e-5)
    assert not np.allclose(raw_deter_1, online_deter[1]), "the raw GRU state is not fed back into the posterior"


def test_the_loss_feeds_the_raw_branch_the_online_states_of_the_masked_frames(model_and_state):
    model, state = model_and_state
    batch = fixed_batch()
    _, (_, raw_posts) = jax.jit(model.loss)(state.params, state.ema, batch, KEY)
    mask_key, online_key, _ = jax.random.split(KEY, 3)
    online, _ = jax.jit(model.observe)(state.params, batch, online_key, model.mask(mask_key, 8, 2))
    np.testing.assert_allclose(raw_posts.deter, online.deter, atol=1e-5)


def test_the_bisimulation_target_pairs_each_state_with_the_reward_at_its_own_index():
    length, batch, dim = 4, 2, 3
    reward = jnp.array([[0.0, 0.0], [1.0, 5.0], [2.0, 3.0], [9.0, 7.0]])  # r_t: received on arriving at o_t
    same = jnp.ones((length - 1, batch, dim))  # identical next features: the target is the reward gap alone
    target = bisimulation_target(reward, same, same, gamma=0.99, reward_scale=2.0)
    r = 2.0 * reward[:-1].reshape(-1)  # states t = 0..T-2, time-major, with r_0..r_{T-2}
    np.testing.assert_allclose(target, jnp.abs(r[:, None] - r[None, :]), atol=1e-6)
    # The next-state part: 1 - cos between online prior features at t+1 (rows) and raw ones (columns).
    online = jax.random.normal(jax.random.PRNGKey(0), (length - 1, batch, dim))
    raw = jax.random.normal(jax.random.PRNGKey(1), (length - 1, batch, dim))
    target = bisimulation_target(jnp.zeros_like(reward), online, raw, gamma=0.5, reward_scale=1.0)
    unit = lambda v: v / jnp.linalg.norm(v, axis=-1, keepdims=True)
    expected = 0.5 * (1 - unit(online.reshape(-1, dim)) @ unit(raw.reshape(-1, dim)).T)
    np.testing.assert_allclose(target, expected, atol=1e-6)


def test_the_bisimulation_loss_leaves_out_pairs_that_cross_an_episode_start():
    online = jax.random.normal(jax.random.PRNGKey(2), (3, 2, 4))
    raw = jax.random.normal(jax.random.PRNGKey(3), (3, 2, 4))
    target = jnp.zeros((6, 6)).at[5, :].set(100.0).at[:, 5].set(100.0)  # row/column of the step left out
    valid = jnp.ones((3, 2), bool).at[2, 1].set(False)
    kept = bisimulation_loss(online, raw, target, valid)
    distance = 1 - (features_unit(online) @ features_unit(raw).T)[:5, :5]
    np.testing.assert_allclose(kept, jnp.mean(0.5 * distance**2 * (jnp.abs(distance) <= 1)
                                              + (jnp.abs(distance) - 0.5) * (jnp.abs(distance) > 1)), atol=1e-6)


def features_unit(x):
    flat = x.reshape(-1, x.shape[-1])
    return flat / jnp.linalg.norm(flat, axis=-1, keepdims=True)


def test_features_are_the_flat_sample_then_the_deterministic_state(model_and_state):
    model, state = model_and_state
    start = model.rssm.initial(state.params["rssm"], (3,))
    feats = features(start)
    assert feats.shape == (3, model.rssm.feature_dim)
    np.testing.assert_array_equal(feats[:, -16:], start.deter)
