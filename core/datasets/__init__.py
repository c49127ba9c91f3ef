"""Offline datasets: D4RL HDF5 files and Minari datasets as `Transition` rows, and D4RL's normalised scores.

    from core.datasets import load_dataset
    dataset = load_dataset("d4rl:halfcheetah_medium-v2.hdf5", env.spec)   # or "minari:ID", or a path
    buffer = core.replay.from_arrays(dataset.transitions)
    dataset.normalized_score(episode_return)

See docs/datasets.md for the formats, `scripts/collect.py` for making datasets with our SAC.
"""

from core.datasets.conversion import d4rl_to_transitions, transitions_to_d4rl
from core.datasets.d4rl import load_d4rl, load_d4rl_metadata, validate_d4rl, write_d4rl
from core.datasets.errors import DatasetError
from core.datasets.loading import Dataset, load_dataset
from core.datasets.minari_io import datasets_root, load_minari, minari_to_d4rl, write_minari
from core.datasets.scores import D4RL_REFERENCE_RETURNS, normalized_score, reference_returns

__all__ = [
    "D4RL_REFERENCE_RETURNS",
    "Dataset",
    "DatasetError",
    "d4rl_to_transitions",
    "datasets_root",
    "load_d4rl",
    "load_d4rl_metadata",
    "load_dataset",
    "load_minari",
    "minari_to_d4rl",
    "normalized_score",
    "reference_returns",
    "transitions_to_d4rl",
    "validate_d4rl",
    "write_d4rl",
    "write_minari",
]
