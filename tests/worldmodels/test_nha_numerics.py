"""NHA numerics: v-measure against a hand-computed case, RK4 against the closed form of a linear flow, and
padding that never reaches the loss."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.linalg import expm

from worldmodels.nha.metrics import v_measure
from worldmodels.nha.modes import ModeConfig, init_mode_params, loss_fn, usage_imbalance
from worldmodels.nha.rk4 import masked_mse, rk4_solve
from worldmodels.nha.segments import Normaliser, split_segments, windows


def test_v_measure_matches_hand_computation():
    # true classes [0,0,0,1,1,1], clusters [0,0,1,1,2,2]: contingency rows (2,1,0) and (0,1,2).
    # H(C) = ln 2; H(C|K) = (2/6)*0 + (2/6)*ln 2 + (2/6)*0 = ln2 / 3  -> homogeneity = 2/3.
    # H(K) = ln 3; H(K|C) = 2 * (3/6) * H(2/3, 1/3)                    -> completeness = 1 - H(2/3,1/3)/ln 3.
    h_two_thirds = -(2 / 3) * math.log(2 / 3) - (1 / 3) * math.log(1 / 3)
    homogeneity, completeness = 2 / 3, 1 - h_two_thirds / math.log(3)
    got = v_measure([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2])
    assert got["homogeneity"] == pytest.approx(homogeneity, abs=1e-12)
    assert got["completeness"] == pytest.approx(completeness, abs=1e-12)
    assert got["v_measure"] == pytest.approx(2 * homogeneity * completeness / (homogeneity + completeness), abs=1e-12)
    assert v_measure([0, 0, 1, 1], [5, 5, 7, 7])["v_measure"] == pytest.approx(1.0)  # relabelling is free


def test_rk4_on_a_linear_flow_matches_the_closed_form():
    a = jnp.array([[-0.3, 1.2], [-1.0, -0.1]])
    z0 = jnp.array([1.0, -0.5])
    times = jnp.cumsum(jnp.concatenate([jnp.zeros(1), jnp.full(40, 0.05)]))
    solved = rk4_solve(lambda z, u: a @ z, z0, jnp.diff(times))
    exact = jax.vmap(lambda t: expm(a * t) @ z0)(times)
    # RK4's global error is O(h^4): at h = 0.05 over t = 2 it is far below 1e-5.
    np.testing.assert_allclose(solved, exact, atol=1e-5)


def test_padded_samples_neither_move_the_state_nor_enter_the_loss():
    t = np.tile(np.linspace(0, 1, 12), (2, 1))
    x = np.stack([np.sin(t), np.cos(t)], -1)
    boundary = np.zeros(t.shape, bool)
    boundary[:, 0], boundary[0, 4] = True, True  # lengths 4 and 8 (trajectory 0), 12 (trajectory 1)
    norm = Normaliser(np.zeros(2), np.ones(2))
    segments = split_segments(t, x, boundary, norm)
    assert segments.mask.sum(1).tolist() == [4, 8, 12]
    assert (segments.dt[~segments.mask[:, 1:]] == 0).all()  # padding is zero time steps
    rotation = lambda z, u: jnp.array([z[1], -z[0]])
    solved = rk4_solve(rotation, jnp.asarray(segments.z[0, 0]), jnp.asarray(segments.dt[0]))
    np.testing.assert_allclose(solved[4:], np.repeat(solved[3:4], 8, 0))  # the state stays put on padding

    prediction = jnp.asarray(segments.z) + 0.1
    garbage = jnp.where(jnp.asarray(segments.mask)[..., None], prediction, 1e6)
    assert masked_mse(garbage, segments.z, segments.mask) == pytest.approx(0.01, rel=1e-5)
    grad = jax.grad(lambda p: masked_mse(p, segments.z, segments.mask))(prediction)
    assert (np.asarray(grad)[~segments.mask] == 0).all()

    # The stage-2 loss of the padded batch equals the mean of each segment's loss on its own, unpadded.
    config = ModeConfig(modes=2, encoder_samples=2, dropout=0.0, gate="softmax")
    params = init_mode_params(config, jax.random.PRNGKey(0), 2)
    params["flows"]["A"] = params["flows"]["A"] + jnp.array([[[0.0, 1.0], [-1.0, 0.0]], [[0.2, 0.0], [0.0, 0.1]]])
    batch = loss_fn(config, segments)(params, jax.random.PRNGKey(1))
    def one(s, n):
        alone = jax.tree.map(lambda a: a[s:s + 1, :n] if a.ndim > 1 else a[s:s + 1], segments)
        return loss_fn(config, alone)(params, jax.random.PRNGKey(1))

    alone = [one(s, n) for s, n in enumerate(segments.mask.sum(1))]
    assert batch == pytest.approx(np.mean(alone), rel=1e-5)


def test_windows_cover_each_segment_and_overlap_by_one_sample():
    t = np.linspace(0, 1, 23)[None]
    x = t[..., None] ** 2
    segments = split_segments(t, x, np.eye(1, 23, dtype=bool), Normaliser(np.zeros(1), np.ones(1)))
    cut = windows(segments, 10)
    assert cut.mask.sum(1).tolist() == [10, 10, 5]  # samples 0-9, 9-18, 18-22
    np.testing.assert_allclose(cut.t[1, 0], cut.t[0, 9])
    np.testing.assert_allclose(cut.t[2, 4], t[0, -1])


def test_the_usage_term_is_zero_at_equal_use_and_pulls_towards_unused_modes():
    assert float(usage_imbalance(jnp.zeros((6, 3)))) == pytest.approx(0.0, abs=1e-6)
    one_mode = jnp.tile(jnp.array([[40.0, 0.0, 0.0]]), (6, 1))
    assert float(usage_imbalance(one_mode)) == pytest.approx(math.log(3), rel=1e-4)
    # Every segment leans to mode 0: descending the term lowers mode 0's logit and raises the others'.
    leaning = jnp.tile(jnp.array([[1.0, 0.0, 0.0]]), (6, 1))
    grad = np.asarray(jax.grad(usage_imbalance)(leaning))
    assert (grad[:, 0] > 0).all() and (grad[:, 1:] < 0).all()
    # A sample's gate on its own may stay sharp: half the segments sure of mode 0, half of mode 1, of 2 modes.
    split = jnp.concatenate([jnp.tile(jnp.array([[40.0, 0.0]]), (3, 1)), jnp.tile(jnp.array([[0.0, 40.0]]), (3, 1))])
    assert float(usage_imbalance(split)) == pytest.approx(0.0, abs=1e-6)
