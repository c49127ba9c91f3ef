"""Episode datasets of image observations for fitting world models offline (`scripts/fit.py`): the layout, its
files, a split into training and held-out episodes, and Dreamer-layout batches drawn from it.

The layout: E episodes of L steps each, every array episode-major, step t of an episode as in Dreamer
(DreamerV3, Hafner et al. 2023; docs/worldmodels.md):

| key | shape | dtype | holds |
|---|---|---|---|
| `image` | [E, L, S, S, 3] | uint8 | o_t; o_0 is the frame the episode starts from |
| `action` | [E, L, A] | float32 | a_{t-1}, the action that led to o_t; zeros at t = 0 |
| `reward` | [E, L] | float32 | r_t, received on arriving at o_t; 0 at t = 0 |
| `task_state` | [E, L, K] | float32 | optional: the true state at o_t, as probe targets (angles as cos, sin) |
| `distractor_state` | [E, L, D] | float32 | optional: the distractors' state at o_t (e.g. shape centres); D may be 0 |
| `task_state_invariant` | [E, L, K] | float32 | optional: `task_state` up to the task's mirror symmetry |
| `distractor_features` | [E, L, G] | float32 | optional: `distractor_state`, order-free (shapes: a density map) |

No episode terminates inside the data (episodes are cut at L steps, so the continue flag is 1 throughout). The
arrays are stored as they are in an `.npz` file or as top-level datasets of an HDF5 file (`.h5`, `.hdf5`), with
an optional string `env`, the env they came from.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import h5py
import jax
import jax.numpy as jnp
import numpy as np

from core.sequences import DreamerSequence

REQUIRED = ("image", "action", "reward")
OPTIONAL = ("task_state", "distractor_state", "task_state_invariant", "distractor_features")
HDF5_SUFFIXES = (".h5", ".hdf5")


class EpisodeDataError(ValueError):
    """A dataset file that does not hold the episode layout; reported as one line."""


@dataclass(frozen=True)
class Episodes:
    """E episodes of L steps in the layout above (numpy arrays)."""

    image: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    task_state: np.ndarray | None = None
    distractor_state: np.ndarray | None = None
    task_state_invariant: np.ndarray | None = None
    distractor_features: np.ndarray | None = None
    env: str = ""

    @property
    def num_episodes(self) -> int:
        return self.image.shape[0]

    @property
    def length(self) -> int:
        return self.image.shape[1]

    @property
    def image_size(self) -> int:
        return self.image.shape[2]

    @property
    def action_dim(self) -> int:
        return self.action.shape[2]

    def select(self, index) -> Episodes:
        """The episodes at `index` (a slice or an index array)."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "env"}
        return replace(self, **{k: (None if v is None else v[index]) for k, v in arrays.items()})


def split(episodes: Episodes, holdout: int) -> tuple[Episodes, Episodes]:
    """(training episodes, the last `holdout` episodes); the probes fit on the first and score on the second."""
    if not 0 < holdout < episodes.num_episodes:
        raise EpisodeDataError(f"--holdout {holdout} must leave training episodes: the data holds "
                               f"{episodes.num_episodes} episodes")
    cut = episodes.num_episodes - holdout
    return episodes.select(slice(0, cut)), episodes.select(slice(cut, None))


def save(episodes: Episodes, path: str | os.PathLike) -> Path:
    """Write `episodes` as `.npz` (uncompressed: frames of random scenes barely compress) or HDF5, atomically."""
    path = Path(path)
    arrays = {name: getattr(episodes, name) for name in REQUIRED + OPTIONAL if getattr(episodes, name) is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(handle)
    try:
        if path.suffix in HDF5_SUFFIXES:
            with h5py.File(temporary, "w") as file:
                for name, array in arrays.items():
                    file.create_dataset(name, data=array)
                file.attrs["env"] = episodes.env
        else:
            with open(temporary, "wb") as file:
                np.savez(file, env=np.array(episodes.env), **arrays)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return path


def load(path: str | os.PathLike) -> Episodes:
    """Read and check an episode file (`.npz`, `.h5`, `.hdf5`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file {path} does not exist")
    try:
        arrays, env = _read_hdf5(path) if path.suffix in HDF5_SUFFIXES else _read_npz(path)
    except (OSError, ValueError) as error:
        if isinstance(error, EpisodeDataError):
            raise
        raise EpisodeDataError(f"{path}: cannot be read as {path.suffix or 'npz'} ({_first_line(error)})") from None
    return validate(arrays, env, str(path))


def validate(arrays: dict, env: str, source: str) -> Episodes:
    """The arrays as `Episodes`, every key, shape and dtype checked against the layout."""
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise EpisodeDataError(f"{source}: missing {', '.join(missing)} (an episode dataset holds image [E, L, S, S, "
                               f"3] uint8, action [E, L, A], reward [E, L]; see docs/worldmodels.md)")
    image = np.asarray(arrays["image"])
    if image.dtype != np.uint8 or image.ndim != 5 or image.shape[-1] != 3 or image.shape[2] != image.shape[3]:
        raise EpisodeDataError(f"{source}: image must be uint8 [E, L, S, S, 3], got {image.dtype} {image.shape}")
    lead = image.shape[:2]
    if lead[0] < 2 or lead[1] < 2:
        raise EpisodeDataError(f"{source}: needs at least 2 episodes of at least 2 steps, got {lead[0]} x {lead[1]}")
    out = {"image": image}
    for name, ndim in (("action", 3), ("reward", 2), *((name, 3) for name in OPTIONAL)):
        if name not in arrays:
            continue
        array = np.asarray(arrays[name])
        if array.ndim != ndim or array.shape[:2] != lead or not np.issubdtype(array.dtype, np.number):
            shape = "[E, L]" if ndim == 2 else "[E, L, n]"
            raise EpisodeDataError(f"{source}: {name} must be numbers {shape} with E, L = {lead}, got "
                                   f"{array.dtype} {array.shape}")
        if not np.all(np.isfinite(array)):
            raise EpisodeDataError(f"{source}: {name} holds nan or inf")
        out[name] = array.astype(np.float32)
    return Episodes(**out, env=env)


def _read_npz(path: Path) -> tuple[dict, str]:
    with np.load(path, allow_pickle=False) as file:
        arrays = {k: file[k] for k in file.files}
    env = arrays.pop("env", np.array(""))
    return arrays, str(env)


def _read_hdf5(path: Path) -> tuple[dict, str]:
    with h5py.File(path, "r") as file:
        arrays = {k: file[k][()] for k in REQUIRED + OPTIONAL if isinstance(file.get(k), h5py.Dataset)}
        if "observations" in file and "image" not in file:
            raise EpisodeDataError(f"{path}: a D4RL transition file (observations, actions, ...); fit.py reads the "
                                   f"episode layout (image, action, reward; docs/worldmodels.md)")
        env = file.attrs.get("env", "")
    return arrays, env.decode() if isinstance(env, bytes) else str(env)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def device_arrays(episodes: Episodes) -> dict[str, jax.Array]:
    """The arrays a batch is drawn from, put on the device once."""
    return {"image": jnp.asarray(episodes.image), "action": jnp.asarray(episodes.action),
            "reward": jnp.asarray(episodes.reward)}


def sample_windows(arrays: dict[str, jax.Array], key: jax.Array, batch: int, length: int) -> DreamerSequence:
    """`batch` windows of `length` consecutive steps, each from a uniformly drawn episode and start, as a
    time-major `DreamerSequence` `[length, batch]`. A window's first step is marked `first`, so the model starts
    it from its initial state (the step's action and reward are then ignored by the RSSM's reset)."""
    episodes, steps = arrays["reward"].shape
    episode_key, start_key = jax.random.split(key)
    episode = jax.random.randint(episode_key, (batch,), 0, episodes)
    start = jax.random.randint(start_key, (batch,), 0, steps - length + 1)
    time = start[None, :] + jnp.arange(length)[:, None]  # [T, B]
    take = lambda x: x[episode[None, :], time]
    first = jnp.zeros((length, batch), bool).at[0].set(True)
    return DreamerSequence(take(arrays["image"]), take(arrays["action"]), take(arrays["reward"]),
                           jnp.ones((length, batch), jnp.float32), first)


def as_sequence(episodes: Episodes) -> DreamerSequence:
    """Whole episodes as one time-major `DreamerSequence` `[L, E]`, for observing them from their first frame."""
    swap = lambda x: jnp.asarray(np.swapaxes(x, 0, 1))
    first = jnp.zeros((episodes.length, episodes.num_episodes), bool).at[0].set(True)
    return DreamerSequence(swap(episodes.image), swap(episodes.action), swap(episodes.reward),
                           jnp.ones((episodes.length, episodes.num_episodes), jnp.float32), first)
