"""Minari datasets (Farama's successor to D4RL, 0.5 API) written from and read back to D4RL rows, locally only.

Minari stores episodes: episode i holds T_i + 1 observations, T_i actions, rewards, terminations and truncations,
and per-step infos. We split D4RL rows into episodes where a row ends one (a true end, a time limit) and wherever
the next row does not continue it (`next_observations[t] != observations[t + 1]`, or a `first` flag), so that
D4RL -> Minari -> D4RL gives back the same arrays, flags and infos included. Datasets live under a root folder:
the `root` argument, else the `MINARI_DATASETS_PATH` env var (Minari's convention), else `~/.minari/datasets`.
Nothing is ever downloaded.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.datasets.conversion import LOG_PROB_EXTRA, LOG_PROB_INFO, d4rl_rows, transitions_to_d4rl
from core.datasets.d4rl import validate_d4rl
from core.datasets.errors import DatasetError
from core.transitions import Transition

ROOT_VARIABLE = "MINARI_DATASETS_PATH"


def datasets_root(root: str | os.PathLike | None = None) -> Path:
    """Where local Minari datasets live: `root`, else $MINARI_DATASETS_PATH, else Minari's default folder."""
    if root is not None:
        return Path(root).absolute()  # minari joins a relative root onto its own paths twice
    return Path(os.environ.get(ROOT_VARIABLE) or Path.home() / ".minari" / "datasets")


def write_minari(dataset_id: str, transitions_or_arrays, env_or_spaces, ref_min_score: float, ref_max_score: float,
                 metadata: dict | None = None, root: str | os.PathLike | None = None):
    """Create the local Minari dataset `dataset_id` (hdf5 format) from a `Transition` or D4RL arrays.

    `env_or_spaces`: an env (or its `EnvSpec`) of the suite, or `(observation_space, action_space)` as our spaces
    or gymnasium's. Actions are stored as given (D4RL files hold env units). `metadata` (JSON-serialisable) is
    added to the dataset's own; a `seed` entry gives episode i the seed `seed + i`. Returns the `MinariDataset`.
    """
    import minari

    arrays, split_after = _rows_and_cuts(transitions_or_arrays)
    observation_space, action_space = _gymnasium_spaces(env_or_spaces)
    metadata = _checked_metadata(dataset_id, metadata)
    buffers = list(_episode_buffers(arrays, split_after, metadata.get("seed")))
    with _root_set(datasets_root(root)), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*is set to None", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"env_spec is None", category=UserWarning)
        try:
            dataset = minari.create_dataset_from_buffers(
                dataset_id, buffers, observation_space=observation_space, action_space=action_space,
                ref_min_score=float(ref_min_score), ref_max_score=float(ref_max_score),
                algorithm_name=metadata.get("algorithm"), description=metadata.get("description"),
                data_format="hdf5")
        except ValueError as error:  # a malformed id, an existing dataset
            raise DatasetError(f"Minari dataset {dataset_id!r}: {error}") from None
    # Minari records reference scores only when it knows a gymnasium env to evaluate on; ours need not be one.
    try:
        dataset.storage.update_metadata({**metadata, "ref_min_score": float(ref_min_score),
                                         "ref_max_score": float(ref_max_score)})
    except (ValueError, AssertionError, TypeError) as error:  # a protected key, a value JSON cannot hold
        raise DatasetError(f"Minari dataset {dataset_id!r}: metadata not stored ({error or 'wrong type'})") from None
    return dataset


def minari_to_d4rl(dataset_id_or_path: str | os.PathLike, root: str | os.PathLike | None = None) -> dict:
    """A local Minari dataset as D4RL arrays (with `next_observations` and `infos/...`), flags as stored."""
    arrays, _ = _read_rows(dataset_id_or_path, root)
    return arrays


def load_minari(dataset_id_or_path: str | os.PathLike, root: str | os.PathLike | None = None
                ) -> tuple[Transition, dict]:
    """A local Minari dataset (an id under the root, or a dataset folder) as a `Transition` and its metadata.

    Per episode: `obs = observations[:-1]`, `next_obs = observations[1:]`, `terminated = terminations`,
    `truncated = truncations`, `first` on its first step; an episode whose last step has neither flag (a cut, the
    end of the data) is truncated there, and a step flagged both is terminal. Rewards are float32.
    """
    arrays, first = _read_rows(dataset_id_or_path, root)
    metadata = _read_metadata(_data_folder(dataset_id_or_path, root))
    last = np.concatenate([first[1:], np.ones(min(len(first), 1), bool)])
    terminated = arrays["terminals"]
    truncated = np.logical_and(np.logical_or(arrays["timeouts"], last), np.logical_not(terminated))
    extras = {LOG_PROB_EXTRA: arrays[LOG_PROB_INFO]} if LOG_PROB_INFO in arrays else {}
    transitions = Transition(arrays["observations"], arrays["actions"], arrays["rewards"],
                             arrays["next_observations"], terminated, truncated, first, extras)
    return transitions, metadata


def minari_action_space(metadata: dict):
    """The gymnasium action space recorded in a Minari dataset's metadata, or None."""
    from minari.serialization import deserialize_space

    serialized = metadata.get("action_space")
    return deserialize_space(serialized) if isinstance(serialized, str) else None


# --- writing -----------------------------------------------------------------------------------------------


def _rows_and_cuts(transitions_or_arrays) -> tuple[dict, np.ndarray]:
    """D4RL arrays with `next_observations`, and where an episode ends after each row."""
    if isinstance(transitions_or_arrays, Transition):
        transitions = transitions_or_arrays
        arrays = transitions_to_d4rl(transitions)
        starts = np.asarray(transitions.first, bool)
    elif "next_observations" in transitions_or_arrays:
        arrays = validate_d4rl(transitions_or_arrays, "Minari input")
        starts = np.zeros(len(arrays["rewards"]), bool)
    else:  # the rows that have a next observation, with the infos of those rows
        transitions, rows = d4rl_rows(transitions_or_arrays, source="Minari input")
        arrays = transitions_to_d4rl(transitions)
        arrays.update({key: np.asarray(value)[rows] for key, value in transitions_or_arrays.items()
                       if key.startswith("infos/")})
        starts = np.asarray(transitions.first, bool)
    observations, next_observations = arrays["observations"], arrays["next_observations"]
    continues = np.all(next_observations[:-1] == observations[1:], axis=tuple(range(1, observations.ndim)))
    cut = np.concatenate([np.logical_or(np.logical_not(continues), starts[1:]), [True]])
    return arrays, np.logical_or.reduce([arrays["terminals"], arrays["timeouts"], cut])


# Keys Minari sets itself: refused up front rather than after the dataset was written.
_MINARI_OWN_KEYS = ("dataset_id", "observation_space", "action_space", "env_spec", "data_format", "jpeg_encoding",
                    "minari_version", "total_episodes", "total_steps", "dataset_size")


def _checked_metadata(dataset_id: str, metadata: dict | None) -> dict:
    metadata = dict(metadata or {})
    taken = [key for key in _MINARI_OWN_KEYS if key in metadata]
    if taken:
        raise DatasetError(f"Minari dataset {dataset_id!r}: metadata key {taken[0]!r} is Minari's own")
    try:
        json.dumps(metadata)
    except TypeError as error:
        raise DatasetError(f"Minari dataset {dataset_id!r}: metadata must be JSON-serialisable ({error})") from None
    return metadata


def _episode_buffers(arrays: dict, split_after: np.ndarray, seed) -> Iterator:
    from minari.data_collector import EpisodeBuffer

    ends = np.flatnonzero(split_after) + 1
    for index, (start, stop) in enumerate(zip(np.concatenate([[0], ends[:-1]]), ends)):
        rows = slice(int(start), int(stop))
        observations = np.concatenate([arrays["observations"][rows], arrays["next_observations"][stop - 1:stop]])
        infos = _nested({key[len("infos/"):]: value[rows] for key, value in arrays.items() if key.startswith("infos/")})
        yield EpisodeBuffer(
            id=index, seed=None if seed is None else int(seed) + index, observations=observations,
            actions=arrays["actions"][rows], rewards=arrays["rewards"][rows],
            terminations=arrays["terminals"][rows], truncations=arrays["timeouts"][rows], infos=infos or None)


def _gymnasium_spaces(env_or_spaces):
    from envs.spaces import Box, Discrete, MultiDiscrete, to_gymnasium

    holder = env_or_spaces  # an EnvSpec, a JAX env or a gymnasium env have the spaces; our host envs in .spec
    if not hasattr(holder, "action_space") and hasattr(getattr(holder, "spec", None), "action_space"):
        holder = holder.spec
    if hasattr(holder, "action_space"):
        spaces = (holder.observation_space, holder.action_space)
    else:
        spaces = tuple(env_or_spaces)
    return tuple(to_gymnasium(space) if isinstance(space, Box | Discrete | MultiDiscrete) else space
                 for space in spaces)


def _nested(flat: dict) -> dict:
    """`{"a/b": x}` as `{"a": {"b": x}}` (Minari stores nested infos as groups)."""
    nested: dict = {}
    for key, value in flat.items():
        *parents, leaf = key.split("/")
        node = nested
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return nested


@contextmanager
def _root_set(root: Path):
    """Minari reads its root from the env var while creating a dataset; point it at `root` for that long."""
    before = os.environ.get(ROOT_VARIABLE)
    os.environ[ROOT_VARIABLE] = str(root)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ROOT_VARIABLE, None)
        else:
            os.environ[ROOT_VARIABLE] = before


# --- reading -----------------------------------------------------------------------------------------------


def _data_folder(dataset_id_or_path: str | os.PathLike, root) -> Path:
    """The folder holding `metadata.json`: a dataset folder given as a path, else `ROOT/ID/data`."""
    given = Path(dataset_id_or_path)
    for candidate in (given / "data", given):
        if (candidate / "metadata.json").is_file():
            return candidate
    folder = datasets_root(root) / str(dataset_id_or_path) / "data"
    if not (folder / "metadata.json").is_file():
        raise DatasetError(f"Minari dataset {str(dataset_id_or_path)!r}: not found locally (looked in {folder}; "
                           f"set ${ROOT_VARIABLE} or pass root=; nothing is downloaded)")
    return folder


def _read_metadata(folder: Path) -> dict:
    from minari.dataset.minari_storage import MinariStorage

    try:
        return MinariStorage.read_raw_metadata(folder)
    except (ValueError, OSError) as error:
        raise DatasetError(f"Minari dataset {folder}: {error}") from None


def _read_rows(dataset_id_or_path, root) -> tuple[dict, np.ndarray]:
    """D4RL arrays of every episode in order, and the `first` flag of each row."""
    from minari.dataset.minari_storage import MinariStorage

    folder = _data_folder(dataset_id_or_path, root)
    try:
        storage = MinariStorage.read(folder)
        episodes = list(storage.get_episodes(range(storage.total_episodes)))
    except (ValueError, OSError, KeyError, AssertionError) as error:
        raise DatasetError(f"Minari dataset {folder}: cannot be read ({error})") from None
    if not episodes:
        raise DatasetError(f"Minari dataset {folder}: holds no episodes")
    columns = [_episode_rows(episode, folder) for episode in episodes]
    arrays = {key: np.concatenate([rows[key] for rows in columns]) for key in _shared_keys(columns, folder)}
    first = np.concatenate([np.arange(len(rows["rewards"])) == 0 for rows in columns])
    return validate_d4rl(arrays, f"Minari dataset {folder}"), first


def _episode_rows(episode: dict, folder: Path) -> dict:
    observations = episode["observations"]
    if not isinstance(observations, np.ndarray):
        raise DatasetError(f"Minari dataset {folder}: episode {episode['id']} has dict or tuple observations; "
                           "only array observations read as D4RL rows")
    steps = len(episode["rewards"])
    rows = {"observations": observations[:-1], "next_observations": observations[1:],
            "actions": np.asarray(episode["actions"]), "rewards": np.asarray(episode["rewards"], np.float32),
            "terminals": np.asarray(episode["terminations"], bool),
            "timeouts": np.asarray(episode["truncations"], bool)}
    for key, value in _flat(episode.get("infos") or {}).items():
        value = np.asarray(value)
        # Minari's own collector records an info at reset too (T + 1 of them); row t goes with observations[t].
        if value.ndim and len(value) in (steps, steps + 1):
            rows[f"infos/{key}"] = value[:steps]
    return rows


def _shared_keys(columns: list[dict], folder: Path) -> list[str]:
    keys = set(columns[0])
    for index, rows in enumerate(columns[1:], start=1):
        if set(rows) != keys:
            raise DatasetError(f"Minari dataset {folder}: episode {index} has entries {sorted(rows)}, "
                               f"episode 0 has {sorted(keys)}")
    return sorted(keys)


def _flat(nested: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in nested.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
