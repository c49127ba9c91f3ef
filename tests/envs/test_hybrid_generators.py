"""The `hybrid:` data generators: Reno TCP's exact clocks follow their analytic sojourn laws, and a data set
survives the .npz round trip."""

import numpy as np
import pytest
from scipy import stats

from envs.hybrid.family import make_generator
from envs.hybrid.records import load_npz
from envs.hybrid.reno_tcp import CONGESTION_AVOIDANCE, OFF, SLOW_START


@pytest.fixture(scope="module")
def tcp():
    generator = make_generator("reno_tcp")
    return generator, generator.generate(60, seed=3)


def entries(events, mode):
    """(w+ on entering `mode`, sojourn) for every uncensored stay in `mode` after the first event."""
    out = []
    for i in range(events.time.shape[0]):
        k = np.flatnonzero(events.valid[i])
        for a, b in zip(k[:-1], k[1:]):
            if events.target[i, a] == mode:
                out.append((events.x_plus[i, a, 0], events.time[i, b] - events.time[i, a]))
    return np.asarray(out)


@pytest.mark.parametrize("mode", [OFF, SLOW_START, CONGESTION_AVOIDANCE])
def test_tcp_sojourns_follow_the_analytic_survival(tcp, mode):
    # The probability integral transform 1 - S(tau | w+) of each sojourn is uniform if the law is right.
    generator, data = tcp
    w_plus, tau = entries(data.events, mode).T
    assert len(tau) > 100
    u = 1.0 - generator.survival(mode, w_plus, tau) if mode != OFF else 1.0 - np.exp(-tau / generator.tau_off)
    assert stats.kstest(u, "uniform").pvalue > 0.01


def test_tcp_exits_pick_either_target_with_probability_half(tcp):
    _, data = tcp
    e = data.events
    for mode in (SLOW_START, CONGESTION_AVOIDANCE):
        leaving = e.valid & (e.source == mode)
        to_off = np.mean(e.target[leaving] == OFF)
        assert stats.binomtest(int(to_off * leaving.sum()), int(leaving.sum()), 0.5).pvalue > 0.01


def test_npz_round_trip(tcp, tmp_path):
    _, data = tcp
    part = data.take(np.arange(3))
    part.save(tmp_path / "d.npz")
    back = load_npz(tmp_path / "d.npz")
    for name in ("t", "x", "mode", "boundary"):
        np.testing.assert_array_equal(getattr(back, name), getattr(part, name))
