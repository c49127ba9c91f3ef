"""Fitting NHA and its baselines (NODE, LatentNODE) to hybrid-system data, from the command line or a script.

`fit_options()` declares the options (a dataclass, each field documented, turned into --flags by tyro);
`fit_nha(model, data, modes, run_dir, seed, options)` loads or generates the data, checks it (bad data raises a
one-line `HybridDataError` before anything is written), trains with a progress bar, evaluates, and writes
`eval.json` and PNGs of true against learned trajectories to `run_dir`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from worldmodels.nha import latent_node, node, pipeline
from worldmodels.nha.data import FitData, load_data
from worldmodels.nha.encoder import GATES
from worldmodels.nha.evaluation import mode_metrics, reconstruction_metrics, simulation_metrics
from worldmodels.nha.events import EVENT_MODELS, EventConfig
from worldmodels.nha.flows import KINDS
from worldmodels.nha.modes import ModeConfig
from worldmodels.nha.plots import plot_reconstruction
from worldmodels.nha.segments import windows
from worldmodels.nha.training import FitResult, fit_full_batch

MODELS = ("nha", "node", "latent_node")


@dataclass(frozen=True)
class NHAFitOptions:
    """Options of `--model nha|node|latent_node`."""

    epochs: int = 2000
    """Full-batch training epochs (one jitted step over all segments each)."""
    window: int = 50
    """Segments longer than this are trained on as windows of this many samples (less padding)."""
    flow: str = "linear"
    """NHA per-mode fields: linear or mlp (32 tanh units)."""
    gate: str = "categorical"
    """NHA mode gate: categorical (straight-through sample) or softmax (mixes modes)."""
    encoder_lr: float = 3e-4
    """AdamW learning rate of the mode encoder (NHA, LatentNODE)."""
    flow_lr: float = 1e-2
    """AdamW learning rate of the fields (NHA, LatentNODE); NODE uses --node-lr."""
    mode_balance: float = 0.0
    """NHA: weight of a term that favours using all modes (log m - entropy of the mean gate), to decide between
    modes the reconstruction cannot tell apart; 0 is the paper's loss. Use it with m near the true number of modes
    (with spare modes it splits real ones) and --merge-tolerance 0; the nha benchmark uses 0.01 on TCP, m = 3."""
    node_lr: float = 1e-3
    """AdamW learning rate of the NODE baseline."""
    event_model: str = "factorised"
    """NHA event module: factorised (transition table x sojourn flow) or competing (one clock per target)."""
    per_transition: bool = False
    """One unconditional sojourn flow per transition instead of one network conditioned on (z, z', x+)."""
    event_steps: int = 2000
    """Adam steps of the event module (sojourn flows and jump maps)."""
    min_fraction: float = 0.01
    """Pruning: drop a mode that labels fewer than this fraction of the training segments."""
    merge_tolerance: float = 0.05
    """Pruning: merge two modes whose fields differ by less than this (RMS, normalised units)."""
    train_trajectories: int = 40
    """hybrid: data only: trajectories generated for training."""
    test_trajectories: int = 15
    """hybrid: data only: fresh trajectories generated for testing."""
    test_fraction: float = 0.25
    """.npz data only: the fraction of trajectories held out for testing."""
    simulations: int = 500
    """hybrid: data, NHA only: learned and true runs compared in the simulation metrics (0 skips them)."""
    progress: bool = True
    """Show a progress bar."""


def fit_options() -> type[NHAFitOptions]:
    """The options this module adds to scripts/fit.py."""
    return NHAFitOptions


@dataclass
class FitOutcome:
    model: Any  # NHAModel for nha, the parameters for the baselines
    data: FitData
    prediction: np.ndarray  # [S, L, n] normalised predictions of the test segments
    labels: np.ndarray | None  # [S] learned modes of the test segments (NHA)
    evaluation: dict
    result: FitResult


def check_options(model: str, modes: int, options: NHAFitOptions) -> None:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; this fitter handles {', '.join(MODELS)}")
    choices = (("flow", options.flow, KINDS), ("gate", options.gate, GATES),
               ("event-model", options.event_model, EVENT_MODELS))
    for name, value, allowed in choices:
        if value not in allowed:
            raise ValueError(f"--{name} {value!r} is not one of {', '.join(allowed)}")
    if options.mode_balance < 0:
        raise ValueError(f"--mode-balance must be at least 0, got {options.mode_balance}")
    if modes < 1 or options.epochs < 1 or options.window < 2:
        raise ValueError("--modes and --epochs must be at least 1 and --window at least 2")


def progress_callback(total: int, label: str, enabled: bool):
    """(on_chunk, stop): a rich progress bar advanced after each compiled chunk of epochs."""
    if not enabled:
        return None, lambda: None
    bar = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]}"), TimeRemainingColumn())
    task = bar.add_task(label, total=total, loss="-")
    bar.start()
    on_chunk = lambda epoch, loss, params: bar.update(task, completed=epoch, loss=f"{loss:.3g}")
    return on_chunk, bar.stop


def mode_config(data: FitData, modes: int, options: NHAFitOptions) -> ModeConfig:
    reads = getattr(data.generator, "flow_inputs", None)
    return ModeConfig(modes=modes, flow=options.flow, flow_inputs=reads, gate=options.gate,
                      encoder_lr=options.encoder_lr, flow_lr=options.flow_lr, balance=options.mode_balance)


def fit_model(model: str, data: FitData, modes: int, seed: int, options: NHAFitOptions,
              event_config: EventConfig | None = None) -> FitOutcome:
    """Train `model` on `data` and evaluate it on the test trajectories; writes nothing."""
    key = jax.random.PRNGKey(seed)
    train = windows(data.train_segments, options.window)
    on_chunk, stop = progress_callback(options.epochs, model, options.progress)
    try:
        if model == "nha":
            config = mode_config(data, modes, options)
            result = pipeline.fit_modes(config, train, options.epochs, key, on_chunk)
        else:
            module = node if model == "node" else latent_node
            config = node.NODEConfig(lr=options.node_lr) if model == "node" else latent_node.LatentNODEConfig(
                encoder_lr=options.encoder_lr, flow_lr=options.flow_lr)
            dim, controls = train.z.shape[-1], train.u.shape[-1]
            params = module.init_params(config, key, dim, controls)
            result = fit_full_batch(module.loss_fn(config, train), params, module.optimizer(config), options.epochs,
                                    jax.random.fold_in(key, 1), on_chunk)
    finally:
        stop()
    test = jax.tree.map(jnp.asarray, data.test_segments)
    evaluation = {"model": model, "epochs": result.epochs, "epochs_per_second": result.epochs_per_second,
                  "final_train_loss": result.losses[-1], "train_segments": int(data.train_segments.count),
                  "test_segments": int(data.test_segments.count), "boundaries_detected": data.detected}
    if model != "nha":
        prediction = np.asarray(module.predict(config, result.params, test))
        evaluation |= reconstruction_metrics(prediction, data.test_segments, data.normaliser)
        return FitOutcome(result.params, data, prediction, None, evaluation, result)
    events = event_config or EventConfig(model=options.event_model, per_transition=options.per_transition,
                                         steps=options.event_steps)
    nha, info = pipeline.build_model(config, events, result.params, data.train_segments, data.normaliser,
                                     jax.random.fold_in(key, 2), options.min_fraction, options.merge_tolerance)
    labels = pipeline.segment_labels(nha, data.test_segments)
    prediction = np.asarray(pipeline.predict_segments(nha, data.test_segments, labels))
    evaluation |= info | reconstruction_metrics(prediction, data.test_segments, data.normaliser)
    evaluation |= mode_metrics(labels, data.test_segments)
    if data.generator is not None and data.generator.name != "switching_linear" and options.simulations > 0:
        evaluation |= simulation_metrics(nha, data, options.simulations, seed)
    return FitOutcome(nha, data, prediction, labels, evaluation, result)


def fit_nha(model: str, data: str, modes: int, run_dir: Path, seed: int = 0,
            options: NHAFitOptions | None = None, **overrides: Any) -> dict:
    """Fit `model` (nha, node, latent_node) to `data` (hybrid:NAME or PATH.npz) with at most `modes` modes,
    write `eval.json` and PNGs to `run_dir`, and return the evaluation."""
    options = replace(options or NHAFitOptions(), **overrides)
    check_options(model, modes, options)
    loaded = load_data(data, seed, options.train_trajectories, options.test_trajectories, options.test_fraction)
    started = time.perf_counter()
    outcome = fit_model(model, loaded, modes, seed, options)
    evaluation = {"data": data, "modes": modes, "seed": seed, **outcome.evaluation,
                  "wall_seconds": time.perf_counter() - started, "options": asdict(options)}
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "eval.json").write_text(json.dumps(evaluation, indent=2, default=_plain) + "\n")
    plot_reconstruction(run_dir / "trajectories.png", loaded.test_segments, outcome.prediction, outcome.labels,
                        loaded.normaliser, f"{model} on {data}")
    return evaluation


def _plain(value):
    """JSON for numpy scalars and arrays."""
    return value.item() if np.ndim(value) == 0 else np.asarray(value).tolist()
