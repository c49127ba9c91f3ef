"""The TCP part of the `nha` suite: mode recovery and events on Reno TCP (NHA m = 3, m = 3 without the usage term
and m = 5 with pruning, against NODE and LatentNODE), the learned sojourn laws against the analytic ones, and the
censoring ablation."""

from __future__ import annotations

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

from worldmodels.nha.data import FitData
from worldmodels.nha.evaluation import learned_to_true
from worldmodels.nha.events import EventRecords, event_records, fit_events, sample_event
from worldmodels.nha.fit import FitOutcome, NHAFitOptions, fit_model
from worldmodels.nha.metrics import ks_to_cdf
from worldmodels.nha.model import NHAModel
from worldmodels.nha.pipeline import segment_labels

SS, CA = 1, 2
BALANCE = 0.01  # the usage term's weight (worldmodels/nha/modes.py): it lets the off mode have a mode of its own
UNPRUNED = {"min_fraction": 0.0, "merge_tolerance": 0.0}
# (row, model, modes, options): m = 3 with the usage term and m = 5 pruned and merged with the paper's loss (the
# usage term would split real modes across the spare ones), the m = 3 fit without the term as an ablation, and the
# baselines.
MODELS = (("NHA m=3", "nha", 3, {"mode_balance": BALANCE, **UNPRUNED}),
          ("NHA m=3, no usage term", "nha", 3, UNPRUNED),
          ("NHA m=5 (pruned)", "nha", 5, {}),
          ("NODE", "node", 1, {}), ("LatentNODE", "latent_node", 1, {}))


def fit_all(data: FitData, options: NHAFitOptions, seed: int, node_epochs: int) -> dict[str, FitOutcome]:
    """The fits of `MODELS`; only NHA m = 3 is simulated (the simulation metrics are its pass lines), and NODE gets
    `node_epochs` (its MLP field makes an epoch several times slower than NHA's linear fields)."""
    out = {}
    for name, model, modes, overrides in MODELS:
        own = replace(options, **overrides)
        own = own if name == "NHA m=3" else replace(own, simulations=0)
        own = replace(own, epochs=node_epochs) if model == "node" else own
        print(f"[nha] TCP: fitting {name} ({own.epochs} epochs)", flush=True)
        out[name] = fit_model(model, data, modes, seed, own)
    return out


def entry_context(data: FitData, mode: int) -> np.ndarray:
    """The median state on entering `mode` in the training data (raw units)."""
    events = data.train.events
    entries = events.x_plus[events.valid & (events.target == mode)]
    return np.median(entries, axis=0)


def sample_sojourns(model: NHAModel, mode: int, context_raw: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Sojourns drawn from the learned event module on entering learned `mode` at `context_raw`."""
    context = model.normaliser(jnp.asarray(context_raw, jnp.float32))
    draw = lambda k: sample_event(model.event_config, model.events, model.stats, mode, context, k)[1]
    return np.asarray(jax.jit(jax.vmap(draw))(jax.random.split(jax.random.PRNGKey(seed), count)))


def analytic_ks(model: NHAModel, data: FitData, seed: int, count: int = 2000) -> dict:
    """KS distance between the learned sojourn law of SS (entered at w0) and of CA (entered at the median w+) and
    the analytic laws of the generator."""
    generator = data.generator
    _, true_to_learned = learned_to_true(model, data)
    out = {}
    for mode, name in ((SS, "SS"), (CA, "CA")):
        context = np.array([generator.w0, 0.0]) if mode == SS else entry_context(data, mode)
        learned = int(true_to_learned[mode])
        if learned < 0:
            out[name] = float("nan")
            continue
        taus = sample_sojourns(model, learned, context, count, seed)
        cdf = lambda t, m=mode, w=context[0]: 1.0 - generator.survival(m, w, t)
        out[name] = ks_to_cdf(taus, cdf)
    out["CA_w_plus"] = float(entry_context(data, CA)[0])
    return out


def refit_events(model: NHAModel, records: EventRecords, steps: int, seed: int, censoring: bool) -> NHAModel:
    """The same model with its event module refitted on `records` from `seed`, with or without the censored ones."""
    config = replace(model.event_config, censoring=censoring)
    events, stats, _ = fit_events(config, records, model.modes, jax.random.PRNGKey(seed), steps)
    return model.replace(events=events, stats=stats, event_config=config)


def censoring_ablation(model: NHAModel, data: FitData, steps: int, seeds: tuple[int, ...]) -> dict:
    """Mean over SS and CA of the KS distance to the analytic law, for event modules refitted with and without the
    censored records, in pairs that share the refit's seed (so the difference is the censoring, not the fit's own
    noise); averaged over `seeds`. Only each trajectory's last segment is censored, so the gap is small."""
    labels = segment_labels(model, data.train_segments)
    records = event_records(data.train_segments, labels)  # the same records for every refit
    arms = {}
    for censoring in (True, False):
        scores = [analytic_ks(refit_events(model, records, steps, s, censoring), data, s) for s in seeds]
        arms[censoring] = {"per_seed": scores, "mean_ks": float(np.mean([np.nanmean([k["SS"], k["CA"]])
                                                                          for k in scores]))}
    return {"with_censoring": arms[True], "without_censoring": arms[False],
            "censored_records": int(records.censored.sum()), "records": int(len(labels)), "seeds": list(seeds),
            "difference": arms[False]["mean_ks"] - arms[True]["mean_ks"]}


def restricted_v_measure(outcome: FitOutcome) -> dict:
    """v-measure on the SS and CA test segments only: the off mode holds w = 0, where the SS field vanishes too,
    so reconstruction alone cannot tell off from SS (see docs/benchmarks/nha/README.md)."""
    from worldmodels.nha.metrics import v_measure

    true = outcome.data.test_segments.mode
    keep = true > 0
    return v_measure(true[keep], outcome.labels[keep])
