"""The world models `scripts/fit.py` trains offline, by `--model` name, and what every one of them provides.

A fitter is a module registered in `FITTERS` (name -> module path), imported only when its name is asked for.
It holds:

- `SUMMARY: str`, one line for `--help`;
- `Options`, a frozen dataclass of the model's own options (sizes, loss weights), each field with a docstring
  (the `--help` text) and, where it has one, an `Annotated` range (`core.validation`); the image size is not an
  option: it comes from the data;
- `check(options, image_size, action_dim, length) -> None`, raising `ValueError` in one line for options that do
  not fit the data (before anything is written);
- `fit(options, train: Episodes, run: FitRun) -> Fitted`: train on the training episodes (resuming from
  `run.run_dir / "checkpoints"` where a checkpoint is) and return what the probes read.

Adding a model is one new module here and one line in `FITTERS`. `updates.run_updates` is the shared update
loop (progress bar, metrics.jsonl, checkpoints) for any model with `init(key)` and a jitted
`update(state, batch, key) -> (state, metrics)`.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from worldmodels.episodes import Episodes

FITTERS = {
    "rssm": "worldmodels.fitting.rssm",
    "hrssm": "worldmodels.fitting.hrssm",
}


class UnknownModelError(ValueError):
    """A --model that is not registered."""


@dataclass(frozen=True)
class FitRun:
    """What the script hands every fitter: where to write, the seed, and the update budget and its bookkeeping."""

    run_dir: Path
    seed: int
    updates: int
    checkpoint_every: int
    log_every: int
    progress: bool = True


@dataclass
class Fitted:
    """A trained model, as the probes read it; every callable takes whole episodes (`Episodes`, E x L)."""

    features: Callable[[Episodes], np.ndarray]
    """The acting features `[E, L, F]`: the state the agent's actor reads at each step, from clean frames."""
    predicted_reward: Callable[[Episodes], np.ndarray]
    """The reward head's prediction `[E, L]` of the reward received on arriving at each frame."""
    pictures: Callable[[Episodes, Path], list[Path]]
    """Writes PNGs about the model on these episodes into a folder; returns their paths."""
    metrics: dict = field(default_factory=dict)
    """The last logged training metrics."""


def fitter_names() -> list[str]:
    return sorted(FITTERS)


def load_fitter(name: str, also: tuple[str, ...] = ()) -> ModuleType:
    """The fitter module of `name`, imported now; an unknown name is refused with the close ones (among the
    registered names and `also`, the other models the script knows)."""
    if name not in FITTERS:
        known = sorted([*FITTERS, *also])
        close = difflib.get_close_matches(name, known, n=2)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UnknownModelError(f"unknown --model {name!r}; {hint}available: {', '.join(known)}")
    return importlib.import_module(FITTERS[name])
