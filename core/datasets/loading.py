"""One entry point for offline data: `load_dataset("d4rl:PATH" | "minari:ID" | PATH, spec)` -> `Dataset`.

A D4RL file (`.hdf5`/`.h5`) or a Minari dataset (id or folder) becomes a `Transition` of numpy rows with actions
in the agent's normalised units (core/actions.py), plus the reference returns that normalise its scores.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.actions import from_env_action
from core.datasets.conversion import d4rl_to_transitions
from core.datasets.d4rl import load_d4rl, load_d4rl_metadata
from core.datasets.errors import DatasetError
from core.datasets.minari_io import load_minari, minari_action_space
from core.datasets.scores import normalize, reference_returns
from core.transitions import SchemaError, Transition, action_dtype, check_fits, observation_dtype
from envs.protocol import EnvSpec
from envs.spaces import Box, from_gymnasium

D4RL_DIR_VARIABLE = "D4RL_DATASET_DIR"
D4RL_SUFFIXES = (".hdf5", ".h5")
PREFIXES = ("d4rl", "minari")
# Actions a hair outside the bounds are float noise of the recording, not another action space.
ACTION_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Dataset:
    """Rows of an offline dataset and what scores them.

    `ref_min_score`/`ref_max_score` are the dataset's own reference returns if it records them, else D4RL's for
    its env (known from the metadata's `env_id` or the file name), else None.
    """

    transitions: Transition
    ref_min_score: float | None
    ref_max_score: float | None
    metadata: dict = field(default_factory=dict)
    source: str = ""

    def normalized_score(self, episode_return: float) -> float | None:
        """100 * (R - ref_min) / (ref_max - ref_min), or None when the dataset has no references."""
        if self.ref_min_score is None or self.ref_max_score is None:
            return None
        return normalize(episode_return, self.ref_min_score, self.ref_max_score)


def load_dataset(source: str, spec: EnvSpec | None = None) -> Dataset:
    """The dataset `source` names, checked against `spec` (obs/action shapes, action bounds) when given.

    `source`: `d4rl:PATH`, `minari:ID` (a local Minari dataset), or a bare path: a `.hdf5`/`.h5` file is read as
    D4RL, a folder holding `data/` or `metadata.json` as a Minari dataset. A relative D4RL path that does not
    exist is also looked for under $D4RL_DATASET_DIR.
    """
    kind, location = _parse_source(source)
    if kind == "d4rl":
        path = _d4rl_path(location, source)
        transitions, metadata = d4rl_to_transitions(load_d4rl(path), source=str(path)), load_d4rl_metadata(path)
        recorded_space = _recorded_action_space(metadata)
    else:
        transitions, metadata = load_minari(location)
        recorded_space = _from_gymnasium(minari_action_space(metadata))
    action_space = spec.action_space if spec is not None else recorded_space
    if spec is not None:
        _check_against(transitions, spec, source)
    transitions = _in_agent_units(transitions, action_space, spec)
    ref_min, ref_max = _references(metadata, location)
    return Dataset(transitions, ref_min, ref_max, metadata, source)


# --- sources -----------------------------------------------------------------------------------------------


def _parse_source(source: str) -> tuple[str, str]:
    prefix = re.match(r"^([A-Za-z][\w.+-]*):(?!//)", source)
    if prefix and not Path(source).exists():
        kind = prefix.group(1).lower()
        if kind not in PREFIXES:
            raise DatasetError(f"{source}: unknown dataset source prefix {kind!r} (use d4rl:PATH, minari:ID or a path)")
        return kind, source[prefix.end():]
    path = Path(source)
    if path.is_dir():
        if (path / "data").is_dir() or (path / "metadata.json").is_file():
            return "minari", source
        raise DatasetError(f"{source}: a folder without data/ or metadata.json is no Minari dataset")
    if path.suffix.lower() in D4RL_SUFFIXES:
        return "d4rl", source
    if not path.exists():
        raise DatasetError(f"{source}: no such dataset file or folder")
    raise DatasetError(f"{source}: not a dataset (expected a .hdf5/.h5 D4RL file or a Minari dataset folder)")


def _d4rl_path(location: str, source: str) -> Path:
    path = Path(location).expanduser()
    root = os.environ.get(D4RL_DIR_VARIABLE)
    if not path.exists() and not path.is_absolute() and root:
        under_root = Path(root) / path
        if under_root.exists():
            return under_root
        raise DatasetError(f"{source}: no such file (also looked in ${D4RL_DIR_VARIABLE}: {under_root})")
    return path


# --- checks and units --------------------------------------------------------------------------------------


def _check_against(transitions: Transition, spec: EnvSpec, source: str) -> None:
    try:
        check_fits(transitions, spec, f"dataset {source}")
    except SchemaError as error:
        raise DatasetError(str(error)) from None
    space = spec.action_space
    if isinstance(space, Box) and transitions.num_rows:
        actions = np.asarray(transitions.action, np.float64)
        slack = ACTION_TOLERANCE * np.where(np.isfinite(space.high - space.low), space.high - space.low, 1.0)
        excess = np.maximum(space.low - slack - actions, actions - space.high - slack)
        if np.any(excess > 0):
            row = int(np.argmax(excess.reshape(len(actions), -1).max(axis=1)))
            raise DatasetError(f"dataset {source}: actions leave {spec.name}'s action bounds "
                               f"[{space.low.min()}, {space.high.max()}] (row {row}: {actions[row].tolist()})")


def _in_agent_units(transitions: Transition, action_space, spec: EnvSpec | None) -> Transition:
    """Box actions normalised to [-1, 1] (clipped: the bounds check let float noise through); dtypes of `spec`."""
    action = transitions.action
    if isinstance(action_space, Box):
        action = np.clip(from_env_action(action_space, np.asarray(action, np.float32)), -1.0, 1.0)
    if spec is None:
        return transitions.replace(action=action)
    obs_dtype = observation_dtype(spec)
    return transitions.replace(obs=np.asarray(transitions.obs, obs_dtype),
                               next_obs=np.asarray(transitions.next_obs, obs_dtype),
                               action=np.asarray(action, action_dtype(spec)))


def _recorded_action_space(metadata: dict) -> Box | None:
    """The env's action box a file records (`action_low`/`action_high`); None: actions are taken as normalised."""
    low, high = metadata.get("action_low"), metadata.get("action_high")
    if low is None or high is None:
        return None
    low, high = np.asarray(low, np.float32), np.asarray(high, np.float32)
    return Box(low, high, low.shape)


def _from_gymnasium(space):
    return None if space is None else from_gymnasium(space)


def _references(metadata: dict, location: str) -> tuple[float | None, float | None]:
    recorded = metadata.get("ref_min_score"), metadata.get("ref_max_score")
    if None not in recorded:
        return float(recorded[0]), float(recorded[1])
    env_name = metadata.get("env_id") or Path(location).stem.replace("_", "-")
    return reference_returns(str(env_name)) or (None, None)
