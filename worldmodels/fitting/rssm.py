"""`--model rssm`: Dreamer's world model, the RSSM that learns its state by reconstructing pixels (DreamerV3,
Hafner et al. 2023; worldmodels/decoder_rssm.py), at the CPU sizes by default. Its pictures: each held-out
frame above the decoder's reconstruction of it from the posterior state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
import tyro

from worldmodels.config import WorldModelConfig
from worldmodels.decoder_rssm import DecoderRSSM
from worldmodels.episodes import Episodes
from worldmodels.fitting import FitRun, Fitted, rssm_family
from worldmodels.fitting.pictures import frame_rows

SUMMARY = "Dreamer's decoder RSSM (pixel reconstruction)"
FRAMES = 8  # frames shown per picture


@dataclass(frozen=True)
class Options(WorldModelConfig):
    """The decoder RSSM's sizes and optimiser, at the CPU preset (worldmodels/config.py)."""

    image_size: tyro.conf.Suppress[int] = 32
    """Taken from the data."""
    depth: int = 16
    """Channels of the encoder's first convolution (doubled at each halving)."""
    deter: int = 128
    """Width of the deterministic (GRU) state h."""
    stoch: int = 8
    """Categorical variables in the stochastic state z."""
    classes: int = 8
    """Classes per categorical variable."""
    units: int = 128
    """Width of the hidden layers of the recurrent core and of the heads."""
    batch_size: int = 8
    """Sequences per update (B)."""
    sequence_length: int = 32
    """Steps per sequence (T)."""


def check(options: Options, image_size: int, action_dim: int, length: int) -> None:
    rssm_family.check(options, image_size, length)


def build(options: Options, image_size: int, action_dim: int) -> DecoderRSSM:
    return DecoderRSSM(WorldModelConfig(**{**vars(options), "image_size": image_size}), action_dim)


def fit(options: Options, train: Episodes, run: FitRun) -> Fitted:
    model = build(options, train.image_size, train.action_dim)
    state, metrics = rssm_family.train(model, train, run, "rssm updates")
    feats, rewards = rssm_family.reader(model, state.params, run.seed)
    pictures = lambda data, folder: [reconstructions(model, state.params, feats(data), data, folder)]
    return Fitted(feats, rewards, pictures, metrics)


def reconstructions(model: DecoderRSSM, params: dict, feats: np.ndarray, data: Episodes, folder: Path) -> Path:
    """reconstructions.png: FRAMES frames of the first episode spread over it, above the decoder's output from
    their posterior features `feats` `[E, L, F]`."""
    steps = np.linspace(0, data.length - 1, FRAMES).round().astype(int)
    decoded = jax.jit(model.decoder.apply)(params["decoder"], feats[0, steps])
    return frame_rows(folder / "reconstructions.png", [data.image[0, steps], np.asarray(decoded) + 0.5])
