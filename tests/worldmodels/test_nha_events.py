"""The NHA event module: the right-censored likelihood is exact where the flow is known, censoring removes the
bias of dropping cut sojourns, and a learned sojourn law passes a KS test against the true one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from worldmodels.nha.events import (
    EventConfig,
    EventRecords,
    fit_events,
    init_event_params,
    sample_sojourn,
    sojourn_log_likelihood,
    transition_stats,
)

pytestmark = pytest.mark.optimized  # flow fits: optimised programs run the file in 42 s, not 54 s


def records(source, target, tau, censored, dim=1) -> EventRecords:
    count = len(tau)
    zeros = np.zeros((count, dim))
    return EventRecords(np.asarray(source), np.asarray(target), np.asarray(tau, float), zeros, zeros, zeros,
                        np.zeros((count, 0)), np.asarray(censored, bool))


def exponential_records(rng, count, horizon):
    """Exp(1) sojourns of one transition 0 -> 1, right-censored at `horizon`."""
    tau = rng.exponential(size=count)
    return records(np.zeros(count, int), np.ones(count, int), np.minimum(tau, horizon), tau > horizon)


def sample(config, params, stats_, count, seed=0):
    keys = jax.random.split(jax.random.PRNGKey(seed), count)
    draw = lambda k: sample_sojourn(config, params["sojourn"], stats_, 0, 1, jnp.zeros(1), k)
    return np.asarray(jax.jit(jax.vmap(draw))(keys))


@pytest.mark.parametrize("model", ["factorised", "competing"])
def test_censored_likelihood_is_exact_for_the_identity_flow(model):
    # With zero flow parameters g is the identity (distrax's spline has unit slopes at zero), so each sojourn
    # law is log-normal with the transition's own log-time mean and spread: the likelihood has a closed form.
    rng = np.random.default_rng(0)
    source = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    target = np.array([1, 1, 2, 2, 2, 1, 0, 0, 0, 0])
    tau = rng.exponential(size=10) + 0.1
    censored = np.array([0, 0, 0, 0, 1, 1, 0, 0, 0, 1], bool)
    recs = records(source, target, tau, censored)
    config = EventConfig(model=model, per_transition=True)
    st = transition_stats(recs, 3, alpha=1.0)
    params = init_event_params(config, jax.random.PRNGKey(0), 3, 1, 0)
    got = float(jax.jit(lambda p: sojourn_log_likelihood(config, p, st, recs))(params["sojourn"]))

    mu, s, pi = np.asarray(st["mu"]), np.asarray(st["s"]), np.exp(np.asarray(st["log_pi"]))
    law = lambda a, b: stats.lognorm(s=s[a, b], scale=np.exp(mu[a, b]))
    seen = np.asarray(st["counts"]) > 0
    terms = []
    for a, b, t, cut in zip(source, target, tau, censored):
        if model == "factorised":
            terms.append(np.log(sum(pi[a, j] * law(a, j).sf(t) for j in range(3))) if cut else law(a, b).logpdf(t))
        else:
            survive = sum(law(a, j).logsf(t) for j in range(3) if seen[a, j])
            terms.append(survive if cut else law(a, b).logpdf(t) + survive - law(a, b).logsf(t))
    assert got == pytest.approx(np.mean(terms), rel=1e-5, abs=1e-5)


def test_censoring_recovers_the_exponential_law_and_dropping_it_biases_short():
    recs = exponential_records(np.random.default_rng(1), 1500, horizon=1.0)  # ~37 % cut at the horizon
    fitted = {}
    for censoring in (True, False):
        config = EventConfig(per_transition=True, censoring=censoring, steps=400, lr=2e-2)
        params, st, _ = fit_events(config, recs, 2, jax.random.PRNGKey(0))
        fitted[censoring] = sample(config, params, st, 4000)
    # The horizon cuts the data at tau = 1, so compare the survival where the data see it: S(0.5), S(1.0).
    for t in (0.5, 1.0):
        assert np.mean(fitted[True] > t) == pytest.approx(np.exp(-t), abs=0.04)
    assert np.mean(fitted[False] > 1.0) < np.exp(-1.0) - 0.15  # without the censored term: far too short


def test_learned_sojourn_law_passes_a_ks_test():
    truth = stats.gamma(a=2.0, scale=0.5)
    rng = np.random.default_rng(2)
    tau = truth.rvs(size=1500, random_state=rng)
    recs = records(np.zeros(1500, int), np.ones(1500, int), tau, np.zeros(1500, bool))
    config = EventConfig(per_transition=True, steps=400, lr=2e-2)
    params, st, _ = fit_events(config, recs, 2, jax.random.PRNGKey(0))
    learned = sample(config, params, st, 1000, seed=3)
    assert stats.kstest(learned, truth.cdf).pvalue > 0.01
