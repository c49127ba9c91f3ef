"""The event module: when a mode is left, for which mode, and where the state jumps.

Records: every segment k of a trajectory gives (z_k, tau_k, c_k = x_k^+, x_k^-, z_{k+1}, x_{k+1}^+); the last one is
cut by the horizon, so it is right-censored (only "the sojourn lasted at least tau" is known).

Default model, factorised (semi-Markov): p(z', tau | z, c) = pi(z' | z) p(tau | z, z', c).
- pi: Dirichlet-smoothed transition counts over the uncensored records.
- p(tau | z, z', c): a normalising flow on standardised log-time u = (log tau - mu_zz') / s_zz',
  u = Affine(RationalQuadraticSpline(eps)), eps ~ N(0, 1) (Durkan et al. 2019, distrax), whose parameters come from
  one small MLP of (onehot z, onehot z', c) shared by all transitions, or (`per_transition`) a table with one
  unconditional flow per pair. Survival S(tau) = Phi(-eps) since the flow is increasing.
- Likelihood: sum over uncensored records of log p(tau | z, z', c), plus over censored ones of
  log sum_z' pi(z' | z) S(tau | z, z', c). Leaving the censored term out biases sojourns short.
Variant "competing": one clock per observed target; the event is the earliest clock, so an observed (z', tau)
scores log p_z'(tau) + sum_{j != z'} log S_j(tau), and a censored record sum_j log S_j(tau).
Jump maps: psi_{z->z'}(x^-) = x^- + MLP_zz'(x^-, u), zero-initialised last layer, regressed on (x_k^-, x_{k+1}^+).
All in the normalised state coordinates of the flows.
"""

from __future__ import annotations

from dataclasses import dataclass

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.stats import norm

from worldmodels.nha.segments import Segments

EVENT_MODELS = ("factorised", "competing")
BINS, BOUND = 8, 4.0
SPLINE_PARAMS = 3 * BINS + 1
FLOW_PARAMS = SPLINE_PARAMS + 2  # affine shift and log-scale, then the spline
MAX_LOG_TIME = 30.0


@dataclass(frozen=True)
class EventConfig:
    model: str = "factorised"
    per_transition: bool = False
    context: bool = True  # condition the sojourn law on the entry state x+
    censoring: bool = True  # False drops the censored records (the ablation that shows their bias)
    hidden: int = 32
    jump_hidden: int = 64
    steps: int = 2000
    lr: float = 1e-3
    alpha: float = 1.0  # Dirichlet smoothing of the transition table


@dataclass(frozen=True)
class EventRecords:
    source: np.ndarray  # [R] mode of the segment
    target: np.ndarray  # [R] mode of the next segment (meaningless where censored)
    tau: np.ndarray  # [R] sojourn time (to the horizon where censored)
    context: np.ndarray  # [R, n] first state of the segment, x+
    x_minus: np.ndarray  # [R, n] last state of the segment
    x_next: np.ndarray  # [R, n] first state of the next segment
    u_minus: np.ndarray  # [R, k] control at the segment's last sample
    censored: np.ndarray  # [R] bool


def event_records(segments: Segments, labels: np.ndarray) -> EventRecords:
    """Records from consecutive segments of each trajectory, with the modes `labels [S]`. The sojourn runs from
    a segment's first sample to the next segment's first sample (the data's resolution of the event time)."""
    lengths = segments.mask.sum(1)
    rows = {k: [] for k in ("source", "target", "tau", "context", "x_minus", "x_next", "u_minus", "censored")}
    order = np.lexsort((segments.t[:, 0], segments.trajectory))
    for a, b in zip(order, np.append(order[1:], -1)):
        last = lengths[a] - 1
        follows = b >= 0 and segments.trajectory[b] == segments.trajectory[a] and not segments.censored[a]
        rows["source"].append(labels[a])
        rows["target"].append(labels[b] if follows else labels[a])
        end = segments.t[b, 0] if follows else segments.t[a, last]
        step = segments.t[a, 1] - segments.t[a, 0]
        rows["tau"].append(max(end - segments.t[a, 0], 0.5 * step))
        rows["context"].append(segments.z[a, 0])
        rows["x_minus"].append(segments.z[a, last])
        rows["x_next"].append(segments.z[b, 0] if follows else segments.z[a, last])
        rows["u_minus"].append(segments.u[a, last])
        rows["censored"].append(not follows)
    return EventRecords(**{k: np.asarray(v) for k, v in rows.items()})


# --- the sojourn flow ----------------------------------------------------------------------------------------------

def bijector(theta: jax.Array) -> distrax.Bijector:
    """g = Affine o RQ-spline, from `theta [FLOW_PARAMS]`; increasing, identity tails outside [-4, 4]."""
    spline = distrax.RationalQuadraticSpline(theta[2:], range_min=-BOUND, range_max=BOUND,
                                             boundary_slopes="identity")
    return distrax.Chain([distrax.ScalarAffine(shift=theta[0], log_scale=theta[1]), spline])


def log_prob_and_eps(theta: jax.Array, u: jax.Array) -> tuple[jax.Array, jax.Array]:
    """log density of the standardised log-time `u` and its base point eps = g^-1(u)."""
    eps, log_det = bijector(theta).inverse_and_log_det(u)
    return norm.logpdf(eps) + log_det, eps


class SojournNet(nn.Module):
    """Flow parameters from (onehot z, onehot z', context); zero output layer, so it starts at the standard
    normal (a log-normal sojourn with the transition's own mean and spread)."""

    hidden: int = 32

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        h = jnp.tanh(nn.Dense(self.hidden)(inputs))
        h = jnp.tanh(nn.Dense(self.hidden)(h))
        return nn.Dense(FLOW_PARAMS, kernel_init=nn.initializers.zeros)(h)


def flow_params(config: EventConfig, params: dict, modes: int, source, target, context) -> jax.Array:
    """[FLOW_PARAMS] for one transition and context."""
    if config.per_transition:
        return params["table"][source, target]
    context = context if config.context else jnp.zeros_like(context)
    inputs = jnp.concatenate([jax.nn.one_hot(source, modes), jax.nn.one_hot(target, modes), context])
    return SojournNet(config.hidden).apply({"params": params["net"]}, inputs)


def log_density_and_survival(config: EventConfig, params: dict, stats: dict, source, target, context, tau):
    """log p(tau | z, z', c) and log S(tau | z, z', c) for one record."""
    modes = stats["mu"].shape[0]
    mu, s = stats["mu"][source, target], stats["s"][source, target]
    u = (jnp.log(tau) - mu) / s
    log_pu, eps = log_prob_and_eps(flow_params(config, params, modes, source, target, context), u)
    return log_pu - jnp.log(s) - jnp.log(tau), norm.logcdf(-eps)


def sample_sojourn(config: EventConfig, params: dict, stats: dict, source, target, context, key) -> jax.Array:
    modes = stats["mu"].shape[0]
    eps = jax.random.normal(key)
    u = bijector(flow_params(config, params, modes, source, target, context)).forward(eps)
    log_tau = stats["mu"][source, target] + stats["s"][source, target] * u
    return jnp.exp(jnp.clip(log_tau, -MAX_LOG_TIME, MAX_LOG_TIME))


def transition_stats(records: EventRecords, modes: int, alpha: float) -> dict:
    """The transition table and the per-transition standardisation of log-time (mode-wide, then global,
    statistics where a transition has fewer than two uncensored records)."""
    seen = ~records.censored
    counts = np.zeros((modes, modes))
    np.add.at(counts, (records.source[seen], records.target[seen]), 1.0)
    smoothed = counts + alpha
    log_tau = np.log(records.tau)
    glob_mu, glob_s = (log_tau.mean(), log_tau.std()) if log_tau.size else (0.0, 1.0)
    mu, s = np.full((modes, modes), glob_mu), np.full((modes, modes), max(glob_s, 0.1))
    for a in range(modes):
        own = records.source == a
        if own.sum() >= 2:
            mu[a, :], s[a, :] = log_tau[own].mean(), max(log_tau[own].std(), 0.1)
        for b in range(modes):
            pair = seen & own & (records.target == b)
            if pair.sum() >= 2:
                mu[a, b], s[a, b] = log_tau[pair].mean(), max(log_tau[pair].std(), 0.1)
    return {"log_pi": jnp.asarray(np.log(smoothed / smoothed.sum(1, keepdims=True))),
            "counts": jnp.asarray(counts), "mu": jnp.asarray(mu), "s": jnp.asarray(s)}


def sojourn_log_likelihood(config: EventConfig, params: dict, stats: dict, records: EventRecords) -> jax.Array:
    """The mean over records of the (right-censored) log-likelihood of the sojourns.

    `records` holds host (numpy) arrays, so the censored and uncensored records are split before tracing: the
    factorised model needs one density per uncensored record and the survival to every target only for the
    censored ones, which makes the step several times cheaper than scoring every record against every target."""
    modes = stats["mu"].shape[0]
    targets = jnp.arange(modes)
    one = lambda z, z2, c, tau: log_density_and_survival(config, params, stats, z, z2, c, tau)
    all_targets = jax.vmap(jax.vmap(one, in_axes=(None, 0, None, None)), in_axes=(0, None, 0, 0))
    censored = np.asarray(records.censored, bool)
    pick = lambda mask: [jnp.asarray(np.asarray(a)[mask]) for a in (records.source, records.target,
                                                                     records.context, records.tau)]
    (z_c, _, c_c, tau_c), (z_u, target_u, c_u, tau_u) = pick(censored), pick(~censored)
    if config.model == "competing":
        clocks = lambda z: stats["counts"][z] > 0  # [R, m] the targets each mode was seen to reach
        log_p, log_s = all_targets(z_u, targets, c_u, tau_u)
        survive = jnp.sum(jnp.where(clocks(z_u), log_s, 0.0), axis=1)
        own = lambda a: jnp.take_along_axis(a, target_u[:, None], 1)[:, 0]
        uncensored = own(log_p) + survive - own(log_s)
        censored_terms = jnp.sum(jnp.where(clocks(z_c), all_targets(z_c, targets, c_c, tau_c)[1], 0.0), axis=1)
    else:
        uncensored = jax.vmap(one)(z_u, target_u, c_u, tau_u)[0]
        log_s = all_targets(z_c, targets, c_c, tau_c)[1]
        censored_terms = jax.nn.logsumexp(stats["log_pi"][z_c] + log_s, axis=1)
    if not config.censoring:
        censored_terms = jnp.zeros_like(censored_terms)
    return (jnp.sum(uncensored) + jnp.sum(censored_terms)) / max(len(censored), 1)


# --- jump maps ------------------------------------------------------------------------------------------------------

def init_jumps(key: jax.Array, modes: int, dim: int, controls: int, hidden: int) -> dict:
    k1, k2 = jax.random.split(key)
    inputs = dim + controls
    shape = (modes, modes)
    return {"W1": jax.random.normal(k1, (*shape, inputs, hidden)) / np.sqrt(inputs),
            "b1": jnp.zeros((*shape, hidden)),
            "W2": jax.random.normal(k2, (*shape, hidden, hidden)) / np.sqrt(hidden),
            "b2": jnp.zeros((*shape, hidden)),
            "W3": jnp.zeros((*shape, hidden, dim)), "b3": jnp.zeros((*shape, dim))}


def jump(params: dict, source, target, x_minus: jax.Array, u: jax.Array | None = None) -> jax.Array:
    """psi_{source->target}(x^-) = x^- + MLP(x^-, u)."""
    p = jax.tree.map(lambda a: a[source, target], params)
    inputs = x_minus if u is None or u.shape[-1] == 0 else jnp.concatenate([x_minus, u])
    h = jnp.tanh(inputs @ p["W1"] + p["b1"])
    h = jnp.tanh(h @ p["W2"] + p["b2"])
    return x_minus + h @ p["W3"] + p["b3"]


def jump_mse(params: dict, records: EventRecords) -> jax.Array:
    """Mean squared error of the jump maps on the uncensored records (host arrays). The records are grouped by
    transition before tracing, so each pair's MLP runs once on its own batch (gathering a weight matrix per
    record instead costs far more)."""
    seen = ~np.asarray(records.censored, bool)
    source, target = np.asarray(records.source), np.asarray(records.target)
    total, count = jnp.zeros(()), max(int(seen.sum()), 1)
    for a, b in sorted(set(zip(source[seen].tolist(), target[seen].tolist()))):
        rows = seen & (source == a) & (target == b)
        x_minus, u = jnp.asarray(np.asarray(records.x_minus)[rows]), jnp.asarray(np.asarray(records.u_minus)[rows])
        predicted = jax.vmap(lambda x, v, a=a, b=b: jump(params, a, b, x, v))(x_minus, u)
        total = total + jnp.sum(jnp.mean((predicted - jnp.asarray(np.asarray(records.x_next)[rows])) ** 2, axis=1))
    return total / count


# --- fitting and sampling -------------------------------------------------------------------------------------------

def init_event_params(config: EventConfig, key: jax.Array, modes: int, dim: int, controls: int) -> dict:
    flow_key, jump_key = jax.random.split(key)
    if config.per_transition:
        sojourn = {"table": jnp.zeros((modes, modes, FLOW_PARAMS))}
    else:
        inputs = jnp.zeros(2 * modes + dim)
        sojourn = {"net": SojournNet(config.hidden).init(flow_key, inputs)["params"]}
    return {"sojourn": sojourn, "jumps": init_jumps(jump_key, modes, dim, controls, config.jump_hidden)}


def fit_events(config: EventConfig, records: EventRecords, modes: int, key: jax.Array, steps: int | None = None):
    """Transition table, sojourn flows and jump maps, fitted full batch with Adam; returns (params, stats,
    final losses). The sojourn and jump parameters are disjoint, so one optimiser over their sum fits each."""
    if config.model not in EVENT_MODELS:
        raise ValueError(f"unknown event model {config.model!r}; expected one of {EVENT_MODELS}")
    stats = transition_stats(records, modes, config.alpha)
    recs = records  # host arrays: the losses split them by censoring and transition before tracing
    params = init_event_params(config, key, modes, records.context.shape[1], records.u_minus.shape[1])
    optimizer = optax.adam(config.lr)

    def losses(p):
        return -sojourn_log_likelihood(config, p["sojourn"], stats, recs), jump_mse(p["jumps"], recs)

    def step(carry, _):
        p, state = carry
        (total, parts), grads = jax.value_and_grad(lambda q: (sum(losses(q)), losses(q)), has_aux=True)(p)
        updates, state = optimizer.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), parts

    run = jax.jit(lambda p: jax.lax.scan(step, (p, optimizer.init(p)), None, length=steps or config.steps))
    (params, _), history = run(params)
    return params, stats, {"sojourn_nll": float(history[0][-1]), "jump_mse": float(history[1][-1])}


def sample_event(config: EventConfig, params: dict, stats: dict, source, context, key):
    """(next mode, sojourn) on entering `source` at `context`; a mode never seen to leave never does (tau = inf)."""
    modes = stats["mu"].shape[0]
    target_key, time_key = jax.random.split(key)
    leaves = jnp.sum(stats["counts"][source]) > 0
    if config.model == "competing":
        keys = jax.random.split(time_key, modes)
        times = jax.vmap(lambda b, k: sample_sojourn(config, params["sojourn"], stats, source, b, context, k))(
            jnp.arange(modes), keys)
        times = jnp.where(stats["counts"][source] > 0, times, jnp.inf)
        target = jnp.argmin(times)
        tau = times[target]
    else:
        target = jax.random.categorical(target_key, stats["log_pi"][source])
        tau = sample_sojourn(config, params["sojourn"], stats, source, target, context, time_key)
    return target, jnp.where(leaves, tau, jnp.inf)
