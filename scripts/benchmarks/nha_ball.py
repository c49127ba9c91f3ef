"""The bouncing-ball part of the `nha` suite: NHA (learned flows and jump map, the known guard y = 0) against a
single NODE fitted to the whole trajectories; 1-s and 5-s rollout MSE from the test initial states, and the
restitution read off the learned jump map at the true bounces."""

from __future__ import annotations

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

from worldmodels.nha.data import FitData, segment
from worldmodels.nha.evaluation import learned_to_true, simulate_many
from worldmodels.nha.events import jump
from worldmodels.nha.fit import FitOutcome, NHAFitOptions, fit_model
from worldmodels.nha.pipeline import segment_labels

FLIGHT = 0


def whole_trajectories(data: FitData) -> FitData:
    """The same trajectories with no boundaries but t = 0: what a model without events is fitted to."""
    first_only = lambda d: replace(d, boundary=np.eye(1, d.t.shape[1], dtype=bool).repeat(d.t.shape[0], 0))
    return segment(first_only(data.train), first_only(data.test), data.generator)


def rollout_mse(predicted: np.ndarray, true: np.ndarray, t: np.ndarray, horizon: float) -> float:
    """MSE (raw units, both coordinates) over the samples with t <= horizon, from `[N, T, n]` rollouts."""
    keep = t[0] <= horizon + 1e-9
    return float(np.mean((predicted[:, keep] - true[:, keep]) ** 2))


def nha_rollouts(outcome: FitOutcome, seed: int) -> np.ndarray:
    data, model = outcome.data, outcome.model
    trajectories = np.unique(data.test_segments.trajectory)
    first = [np.flatnonzero(data.test_segments.trajectory == i)[0] for i in trajectories]
    mode0 = segment_labels(model, data.test_segments)[first]
    out = simulate_many(model, data.test.x[trajectories, 0], mode0, data.test.t[0], jax.random.PRNGKey(seed),
                        data.generator.guard)
    return out["x"]


def restitution(outcome: FitOutcome) -> float:
    """Median of -v+ / v- over the true flight -> flight bounces of the test data, v+ from the learned jump."""
    data, model = outcome.data, outcome.model
    _, true_to_learned = learned_to_true(model, data)
    flight = int(true_to_learned[FLIGHT])
    events = data.test.events
    bounce = events.valid & (events.x_plus[..., 1] > 0)
    x_minus = events.x_minus[bounce]
    z = model.normaliser(jnp.asarray(x_minus, jnp.float32))
    z_plus = jax.vmap(lambda x: jump(model.events["jumps"], flight, flight, x))(z)
    v_plus = np.asarray(model.normaliser.invert(z_plus))[:, 1]
    return float(np.median(-v_plus / x_minus[:, 1]))


def run_ball(data: FitData, options: NHAFitOptions, seed: int, node_epochs: int) -> dict:
    print(f"[nha] ball: fitting NHA m=2 ({options.epochs} epochs) and NODE ({node_epochs})", flush=True)
    nha = fit_model("nha", data, 2, seed, replace(options, simulations=0))
    node_data = whole_trajectories(data)
    node = fit_model("node", node_data, 1, seed, replace(options, epochs=node_epochs))
    true, t = data.test.x, data.test.t
    nha_x = nha_rollouts(nha, seed)
    order = np.argsort(node_data.test_segments.trajectory)  # one segment per test trajectory
    node_x = np.asarray(node_data.normaliser.invert(node.prediction[order]))
    out = {"nha": nha, "node": node, "nha_x": nha_x, "node_x": node_x, "restitution": restitution(nha)}
    for horizon in (1.0, 5.0):
        out[f"nha_mse_{horizon:g}s"] = rollout_mse(nha_x, true, t, horizon)
        out[f"node_mse_{horizon:g}s"] = rollout_mse(node_x, true, t, horizon)
    return out
