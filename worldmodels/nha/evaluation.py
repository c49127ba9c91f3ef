"""What eval.json reports: reconstruction of the test segments, mode recovery, and (for generated systems) a full
simulation of the learned automaton against the true one."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from worldmodels.nha import pipeline
from worldmodels.nha.data import FitData
from worldmodels.nha.events import jump
from worldmodels.nha.metrics import ks_distance, label_map, occupancy, v_measure
from worldmodels.nha.model import NHAModel
from worldmodels.nha.rk4 import masked_mse
from worldmodels.nha.segments import Normaliser, Segments
from worldmodels.nha.simulate import simulate

MIN_SOJOURNS = 5  # fewer samples than this give no KS distance


def reconstruction_metrics(prediction, segments: Segments, normaliser: Normaliser) -> dict:
    """Test-segment MSE in normalised (sigma-scaled) and raw units, and sMAPE (%) in raw units."""
    prediction = np.asarray(prediction)
    mask = jnp.asarray(segments.mask)
    raw_prediction, raw_target = normaliser.invert(prediction), normaliser.invert(segments.z)
    real = segments.mask[..., None].repeat(prediction.shape[-1], -1)
    denominator = np.abs(raw_prediction) + np.abs(raw_target)
    ratio = np.where(denominator > 1e-12, 2 * np.abs(raw_prediction - raw_target) / np.maximum(denominator, 1e-12), 0)
    return {"test_mse": float(masked_mse(jnp.asarray(prediction), jnp.asarray(segments.z), mask)),
            "test_mse_raw": float(masked_mse(jnp.asarray(raw_prediction), jnp.asarray(raw_target), mask)),
            "test_smape": float(100 * ratio[real].mean())}


def mode_metrics(labels: np.ndarray, segments: Segments) -> dict:
    """Homogeneity, completeness and v-measure of the learned segment modes against the true ones."""
    known = segments.mode >= 0
    if not known.any():
        return {}
    return v_measure(segments.mode[known], np.asarray(labels)[known])


def learned_to_true(model: NHAModel, data: FitData) -> tuple[np.ndarray, np.ndarray]:
    """(learned -> true, true -> learned) mode maps by majority over the training segments."""
    labels = pipeline.segment_labels(model, data.train_segments)
    forward = label_map(data.train_segments.mode, labels, model.modes)
    true_modes = int(data.train_segments.mode.max()) + 1
    backward = label_map(labels, data.train_segments.mode, true_modes)
    return forward, backward


def sojourns_of(events: np.ndarray, times: np.ndarray, sources: np.ndarray, targets: np.ndarray,
                t_start: float) -> dict[tuple[int, int], list[float]]:
    """Uncensored sojourn times by transition from simulated runs: `events`, `times`, ... `[R, T]`."""
    out: dict[tuple[int, int], list[float]] = {}
    for run in range(events.shape[0]):
        entered = t_start
        for k in np.flatnonzero(events[run]):
            out.setdefault((int(sources[run, k]), int(targets[run, k])), []).append(times[run, k] - entered)
            entered = times[run, k]
    return out


def simulate_many(model: NHAModel, x0: np.ndarray, mode0: np.ndarray, grid: np.ndarray, key: jax.Array,
                  guard=None) -> dict:
    """One vmapped, jitted call: the runs from `x0 [R, n]` in learned modes `mode0 [R]`."""
    keys = jax.random.split(key, x0.shape[0])
    run = jax.jit(jax.vmap(lambda x, z, k: simulate(model, x, z, jnp.asarray(grid), k, guard=guard)))
    return jax.tree.map(np.asarray, run(jnp.asarray(x0, jnp.float32), jnp.asarray(mode0), keys))


def simulation_metrics(model: NHAModel, data: FitData, runs: int, seed: int) -> dict:
    """500 (`runs`) learned against `runs` fresh true trajectories from the same initial states: KS distance of
    sojourn times per transition (in true-mode names), mode occupancy, jump-map MSE on the true events
    (normalised units), and event overflows."""
    generator = data.generator
    reference = generator.generate(runs, seed + 20_000)
    forward, backward = learned_to_true(model, data)
    first = np.asarray([np.flatnonzero(data.test_segments.trajectory == i)[0]
                        for i in np.unique(data.test_segments.trajectory)])
    first_labels = pipeline.segment_labels(model, data.test_segments)[first]
    mode0 = np.resize(first_labels, runs)
    x0 = np.resize(data.test.x[np.unique(data.test_segments.trajectory), 0], (runs, data.test.x.shape[-1]))
    guard = getattr(generator, "guard", None)
    out = simulate_many(model, x0, mode0, reference.t[0], jax.random.PRNGKey(seed + 1), guard)
    to_true = lambda modes: np.where(modes >= 0, forward[np.maximum(modes, 0)], -1)
    learned = sojourns_of(out["event"], out["event_time"], to_true(out["source"]), to_true(out["target"]),
                          float(reference.t[0, 0]))
    true = reference.events.sojourns(reference.t[:, 0])
    ks = {f"{a}->{b}": ks_distance(np.asarray(learned.get((a, b), [])), times)
          for (a, b), times in sorted(true.items())
          if len(times) >= MIN_SOJOURNS and len(learned.get((a, b), [])) >= MIN_SOJOURNS}
    modes = len(generator.mode_names)
    learned_occupancy = occupancy(to_true(out["mode"]), modes)
    true_occupancy = occupancy(reference.mode, modes)
    return {"ks_sojourn": ks, "occupancy_learned": learned_occupancy.tolist(),
            "occupancy_true": true_occupancy.tolist(),
            "occupancy_max_error": float(np.abs(learned_occupancy - true_occupancy).max()),
            "jump_map_mse": jump_map_mse(model, reference.events, backward),
            "event_overflows": int(out["overflow"].sum()), "simulated_runs": runs}


def jump_map_mse(model: NHAModel, events, true_to_learned: np.ndarray) -> float:
    """MSE (normalised units) of the learned jump maps on the true events' pre-jump states."""
    valid = events.valid
    source = true_to_learned[events.source[valid]]
    target = true_to_learned[events.target[valid]]
    if (source < 0).any() or (target < 0).any() or not valid.any():
        return float("nan")
    x_minus = model.normaliser(jnp.asarray(events.x_minus[valid], jnp.float32))
    predicted = jax.vmap(lambda a, b, x: jump(model.events["jumps"], a, b, x))(jnp.asarray(source),
                                                                               jnp.asarray(target), x_minus)
    target_z = model.normaliser(jnp.asarray(events.x_plus[valid], jnp.float32))
    return float(jnp.mean((predicted - target_z) ** 2))
