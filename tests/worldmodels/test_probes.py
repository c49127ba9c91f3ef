"""The ridge probes: features that hold the target linearly score R^2 near 1, noise near 0 or below."""

import numpy as np

from worldmodels.probes import flat_steps, r2, r2_per_dimension, ridge_r2, ridge_r2_per_dimension


def _split(rng, features, targets, train=800):
    return features[:train], targets[:train], features[train:], targets[train:]


def test_linear_features_score_near_one():
    rng = np.random.default_rng(0)
    targets = rng.normal(size=(1000, 3))
    # The target spread over 20 features, mixed, on a very different scale, plus 5 nuisance features.
    mixed = targets @ rng.normal(size=(3, 20)) * 50.0 + 7.0
    features = np.concatenate([mixed, rng.normal(size=(1000, 5))], axis=1)
    assert ridge_r2(*_split(rng, features, targets), alpha=1.0) > 0.99


def test_noise_features_score_near_zero():
    rng = np.random.default_rng(1)
    targets, features = rng.normal(size=(1000, 2)), rng.normal(size=(1000, 30))
    assert abs(ridge_r2(*_split(rng, features, targets), alpha=1.0)) < 0.1


def test_half_the_target_dimensions_held_averages_them():
    rng = np.random.default_rng(2)
    targets = rng.normal(size=(1000, 2))
    features = np.concatenate([targets[:, :1], rng.normal(size=(1000, 10))], axis=1)
    assert 0.4 < ridge_r2(*_split(rng, features, targets), alpha=1.0) < 0.6
    held, missed = ridge_r2_per_dimension(*_split(rng, features, targets), alpha=1.0)
    assert held > 0.99 and abs(missed) < 0.1


def test_r2_ignores_constant_dimensions_and_is_nan_when_nothing_varies():
    y = np.stack([np.arange(10.0), np.ones(10)], axis=1)
    assert r2(y, y) == 1.0
    assert np.isnan(r2(np.ones((10, 2)), np.zeros((10, 2))))
    assert r2_per_dimension(y, y) == [1.0, None]


def test_flat_steps_keeps_each_step_a_row():
    x = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    np.testing.assert_array_equal(flat_steps(x)[4], x[1, 1])
