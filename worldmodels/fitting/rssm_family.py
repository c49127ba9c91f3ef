"""What the two RSSM fitters (Dreamer's decoder RSSM and HRSSM) share: checks against the data, training on
windows of the episodes, and reading features and rewards off whole episodes.

The acting features are the posterior features [flat(z_t), h_t] of each frame, observed from the episode's first
frame on clean (unmasked) frames: what the Dreamer agent's actor reads when acting (`--act-from online`, the
default for both models; docs/dreamer.md).
"""

from __future__ import annotations

import jax
import numpy as np

from worldmodels import episodes as episode_data
from worldmodels.distributions import symlog_two_hot_mean
from worldmodels.episodes import Episodes
from worldmodels.fitting import FitRun
from worldmodels.fitting.updates import run_updates
from worldmodels.networks import conv_stages
from worldmodels.rssm import features

CHUNK = 32  # episodes observed per call when reading features: bounds memory on long datasets


def check(options, image_size: int, length: int) -> None:
    """One line for sizes that do not fit the data."""
    conv_stages(image_size)  # raises for a side that is not 4 x 2^k
    if options.sequence_length > length:
        raise ValueError(f"--sequence-length {options.sequence_length} is longer than the episodes "
                         f"({length} steps)")


def train(model, train_episodes: Episodes, run: FitRun, label: str):
    """The model's state after `run.updates` updates on windows of `train_episodes`, and the last metrics."""
    c = model.config
    arrays = episode_data.device_arrays(train_episodes)
    sample = jax.jit(lambda key: episode_data.sample_windows(arrays, key, c.batch_size, c.sequence_length))
    state = jax.jit(model.init)(jax.random.PRNGKey(run.seed))  # one compile, not one per initialiser
    return run_updates(model, state, sample, run, label)


def reader(model, params: dict, seed: int):
    """(features, predicted_reward) of whole episodes, each `[E, L, ...]` numpy, from one jitted observe."""

    @jax.jit  # params as an argument, not a closed-over constant: XLA would constant-fold the whole network
    def read(params, sequence, key):
        posts, _ = model.observe(params, sequence, key)  # HRSSM: no mask, the online branch on clean frames
        feats = features(posts)
        return feats, symlog_two_hot_mean(model.reward.apply(params["reward"], feats))

    def run(data: Episodes):
        chunks = (_padded(data.select(slice(i, i + CHUNK))) for i in range(0, data.num_episodes, CHUNK))
        parts = [read(params, episode_data.as_sequence(chunk), jax.random.PRNGKey(seed + i * CHUNK))
                 for i, chunk in enumerate(chunks)]
        feats, rewards = (np.concatenate([np.swapaxes(np.asarray(p[k]), 0, 1) for p in parts]) for k in (0, 1))
        return feats[:data.num_episodes], rewards[:data.num_episodes]

    cache: list = [None, None]  # (episodes, their reading): the probes ask for features and rewards in turn

    def cached(data: Episodes):
        if cache[0] is not data:
            cache[:] = [data, run(data)]
        return cache[1]

    return (lambda data: cached(data)[0]), (lambda data: cached(data)[1])


def _padded(data: Episodes) -> Episodes:
    """`data` filled up to CHUNK episodes with copies of its last, so every chunk has one shape: one compile."""
    missing = CHUNK - data.num_episodes
    return data if missing <= 0 else data.select(np.r_[np.arange(data.num_episodes), np.full(missing, -1)])
