"""Normalised scores with D4RL's reference returns, and Minari's fraction agreeing with ours."""

import numpy as np
import pytest

import envs
from core.datasets import DatasetError, normalized_score, reference_returns, write_minari
from tests.core.test_datasets_d4rl import make_arrays


def test_halfcheetah_4000_is_34_48():
    assert normalized_score("halfcheetah", 4000.0) == pytest.approx(34.48, abs=0.005)


@pytest.mark.parametrize("name", ["halfcheetah", "hopper", "walker2d", "ant"])
def test_zero_and_hundred_at_the_references(name):
    random_return, expert_return = reference_returns(name)
    assert normalized_score(name, random_return) == pytest.approx(0.0, abs=1e-9)
    assert normalized_score(name, expert_return) == pytest.approx(100.0)


@pytest.mark.parametrize("name", ["HalfCheetah-v5", "gym:HalfCheetah-v5", "halfcheetah-medium-v2",
                                  "halfcheetah-medium-replay-v2", "gym:HalfCheetah-v5?ctrl_cost_weight=0.1"])
def test_names_of_one_env(name):
    assert reference_returns(name) == (-280.178953, 12135.0)
    assert reference_returns("gym:Hopper-v5?terminate_when_unhealthy=true") == (-20.272305, 3234.3)


def test_an_env_without_references():
    assert reference_returns("jax:Pendulum-v1") is None
    assert reference_returns("brax:ant") is None  # Brax's ant has other rewards than MuJoCo's
    with pytest.raises(DatasetError, match="no D4RL reference returns for env 'jax:Pendulum-v1'"):
        normalized_score("jax:Pendulum-v1", 0.0)


def test_minari_fraction_equals_ours_over_100(tmp_path):
    import minari

    refs = reference_returns("halfcheetah")
    spec = envs.make("jax:Pendulum-v1").spec  # the spaces only matter for storage
    dataset = write_minari("scored-v0", make_arrays(), spec, *refs, root=tmp_path)
    returns = np.array([-280.178953, 0.0, 4000.0, 12135.0])
    fractions = minari.get_normalized_score(dataset, returns)
    ours = [normalized_score("halfcheetah", r) for r in returns]
    np.testing.assert_allclose(fractions * 100, ours, rtol=1e-12, atol=1e-12)
