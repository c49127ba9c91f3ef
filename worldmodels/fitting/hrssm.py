"""`--model hrssm`: HRSSM, the decoder-free RSSM learning from cube-masked frames, an EMA raw branch, latent
reconstruction and bisimulation (Sun et al. 2024; worldmodels/hrssm.py), at the CPU sizes by default. It has no
decoder to picture, so its picture is its input: held-out frames above the same frames under the cube mask the
online branch trains on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
import tyro

from worldmodels.episodes import Episodes
from worldmodels.fitting import FitRun, Fitted, rssm_family
from worldmodels.fitting.pictures import frame_rows
from worldmodels.hrssm import HRSSM, HRSSMConfig

SUMMARY = "HRSSM (masked frames, EMA raw branch, latent reconstruction, bisimulation; no decoder)"
FRAMES = 8  # consecutive frames shown: two blocks of the default 4, so the mask's blocks show


@dataclass(frozen=True)
class Options(HRSSMConfig):
    """HRSSM's sizes, optimiser and losses, at the CPU preset (worldmodels/config.py)."""

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
    build(options, image_size, action_dim)  # refuses a patch or block that does not divide


def build(options: Options, image_size: int, action_dim: int) -> HRSSM:
    return HRSSM(HRSSMConfig(**{**vars(options), "image_size": image_size}), action_dim)


def fit(options: Options, train: Episodes, run: FitRun) -> Fitted:
    model = build(options, train.image_size, train.action_dim)
    state, metrics = rssm_family.train(model, train, run, "hrssm updates")
    feats, rewards = rssm_family.reader(model, state.params, run.seed)
    return Fitted(feats, rewards, lambda data, folder: [masked_inputs(model, data, folder, run.seed)], metrics)


def masked_inputs(model: HRSSM, data: Episodes, folder: Path, seed: int) -> Path:
    """masks.png: the first FRAMES frames of the first episode above the same frames as the online branch sees
    them (hidden patches mid-grey), with masks drawn as in training."""
    c = model.config
    length = min(-(-FRAMES // c.block), data.length // c.block) * c.block  # whole blocks, as in training
    mask = np.asarray(model.mask(jax.random.PRNGKey(seed), length, 1))[:FRAMES, 0]
    frames = data.image[0, :mask.shape[0]].astype(np.float32) / 255.0
    masked = np.where(mask[..., None] > 0, 0.5, frames)
    return frame_rows(folder / "masks.png", [frames, masked])
