"""NHA fitted in stages (no differentiation through event times): (2) encoder and flows on all segments,
(4) pruning and merging of modes, (3) the event module on the segments labelled by the pruned encoder."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from worldmodels.nha import modes as mode_stage
from worldmodels.nha.events import EventConfig, event_records, fit_events
from worldmodels.nha.flows import input_mask
from worldmodels.nha.model import NHAModel
from worldmodels.nha.pruning import active_modes, merge_map
from worldmodels.nha.segments import Normaliser, Segments
from worldmodels.nha.training import FitResult, fit_full_batch


def fit_modes(config: mode_stage.ModeConfig, segments: Segments, epochs: int, key: jax.Array,
              on_chunk: Callable | None = None) -> FitResult:
    init_key, fit_key = jax.random.split(key)
    params = mode_stage.init_mode_params(config, init_key, segments.z.shape[-1], segments.u.shape[-1])
    return fit_full_batch(mode_stage.loss_fn(config, segments), params, mode_stage.optimizer(config), epochs,
                          fit_key, on_chunk)


def prune(config: mode_stage.ModeConfig, params: dict, segments: Segments, min_fraction: float,
          tolerance: float, support: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(active, merge_to, logits) after dropping rare modes and merging modes with near-equal fields."""
    logits = np.asarray(mode_stage.encode(config, params["encoder"], segments))
    active = active_modes(logits, min_fraction)
    states = segments.z[segments.mask]
    controls = segments.u[segments.mask]
    pick = np.random.default_rng(seed).permutation(len(states))[:support]
    mask = input_mask(segments.z.shape[-1], config.flow_inputs)
    merge_to = merge_map(params["flows"], states[pick], active, tolerance, mask, controls[pick])
    return active, merge_to, logits


def build_model(config: mode_stage.ModeConfig, event_config: EventConfig, params: dict, segments: Segments,
                normaliser: Normaliser, key: jax.Array, min_fraction: float = 0.01, tolerance: float = 0.05,
                event_steps: int | None = None) -> tuple[NHAModel, dict]:
    """Prune, label the segments, fit the event module; returns the model and the event fit's final losses."""
    active, merge_to, logits = prune(config, params, segments, min_fraction, tolerance)
    labels = np.where(active, logits, -np.inf).argmax(1)
    labels = merge_to[labels]
    records = event_records(segments, labels)
    events, stats, losses = fit_events(event_config, records, config.modes, key, event_steps)
    model = NHAModel(params["encoder"], params["flows"], events, stats,
                     Normaliser(jnp.asarray(normaliser.mean, jnp.float32), jnp.asarray(normaliser.std, jnp.float32)),
                     jnp.asarray(active), jnp.asarray(merge_to), input_mask(segments.z.shape[-1], config.flow_inputs),
                     config, event_config)
    return model, {**losses, "modes_kept": int(len(np.unique(merge_to[active])))}


def segment_labels(model: NHAModel, segments: Segments) -> np.ndarray:
    """[S] each segment's mode (encoder argmax after pruning and merging)."""
    logits = mode_stage.encode(model.mode_config, model.encoder, segments)
    return np.asarray(model.label(logits))


def predict_segments(model: NHAModel, segments: Segments, labels: np.ndarray | None = None) -> jax.Array:
    """[S, L, n] normalised predictions of every segment under its (given or encoded) mode."""
    labels = segment_labels(model, segments) if labels is None else labels
    gates = jax.nn.one_hot(jnp.asarray(labels), model.modes)
    segs = jax.tree.map(jnp.asarray, segments)
    return mode_stage.solve_segments(model.flows, gates, segs, model.flow_mask)
