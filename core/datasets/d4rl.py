"""The D4RL HDF5 layout (Fu et al. 2020): read it with every array checked, and write it.

A D4RL file holds flat arrays over N rows: `observations`, `actions`, `rewards`, `terminals`, `timeouts`, optionally
`next_observations`, per-row `infos/...` (e.g. `infos/action_log_probs`, `infos/qpos`) and scalar `metadata/...`
datasets. `terminals` (a true end) and `timeouts` (a time limit) are kept apart here, never merged.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np

from core.datasets.errors import DatasetError

REQUIRED_KEYS = ("observations", "actions", "rewards", "terminals")
OPTIONAL_KEYS = ("next_observations", "timeouts")
FLAG_KEYS = ("terminals", "timeouts")
FLOAT_KEYS = ("observations", "next_observations", "actions", "rewards")


def load_d4rl(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a D4RL file under their D4RL names, checked; `rewards` (N, 1) squeezed to (N,).

    A file without `timeouts` (D4RL's oldest files) reads as having none set.
    """
    path = _existing_hdf5(path)
    try:
        with h5py.File(path, "r") as file:
            arrays = {name: np.asarray(file[name][()]) for name in _row_array_names(file, path)}
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read as HDF5 ({error})") from None
    return validate_d4rl(arrays, str(path))


def load_d4rl_metadata(path: str | os.PathLike) -> dict:
    """The `metadata/...` entries of a D4RL file, keyed below `metadata/` (`algorithm`, `policy/nonlinearity`).

    Strings come back as `str`, JSON objects and lists (how `write_d4rl` stores them) as dicts and lists.
    """
    path = _existing_hdf5(path)
    with h5py.File(path, "r") as file:
        group = file.get("metadata")
        if not isinstance(group, h5py.Group):
            return {}
        found = {}
        group.visititems(lambda name, item: found.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return {name: _decoded(value) for name, value in found.items()}


def write_d4rl(path: str | os.PathLike, arrays: dict, metadata: dict | None = None) -> Path:
    """Write `arrays` (D4RL names, checked first) as a D4RL file, gzip-compressed, atomically.

    Observations, next observations, actions and rewards are stored as float32 (integer observations such as
    pixels keep their dtype), terminals and timeouts as bool. `metadata` becomes scalar `metadata/<key>`
    datasets: strings as UTF-8 bytes, dicts and lists as JSON strings, numbers and bools as they are.
    """
    path = Path(path)
    unknown = sorted(key for key in arrays if key not in REQUIRED_KEYS + OPTIONAL_KEYS and not key.startswith("infos/"))
    if unknown:
        raise DatasetError(f"{path}: {unknown[0]!r} is no D4RL key (per-row extras go under 'infos/', scalars "
                           "in metadata)")
    arrays = validate_d4rl(arrays, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        with h5py.File(temporary, "w") as file:
            for name, array in arrays.items():
                file.create_dataset(name, data=_storage_array(name, array), compression="gzip")
            for key, value in (metadata or {}).items():
                if value is not None:
                    file.create_dataset(f"metadata/{key}", data=_metadata_value(key, value))
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def validate_d4rl(arrays: dict, source: str) -> dict[str, np.ndarray]:
    """`arrays` with every D4RL key checked for presence, rank and row count; flags bool, rewards (N,)."""
    missing = [key for key in REQUIRED_KEYS if key not in arrays]
    if missing:
        raise DatasetError(f"{source}: missing key {missing[0]!r} (has: {', '.join(sorted(arrays)) or 'nothing'})")
    checked = {key: np.asarray(value) for key, value in arrays.items()
               if key in REQUIRED_KEYS + OPTIONAL_KEYS or key.startswith("infos/")}
    checked["rewards"] = _column(checked["rewards"], "rewards", source).astype(np.float32, copy=False)
    for key in FLAG_KEYS:
        if key in checked:
            checked[key] = _column(checked[key], key, source).astype(bool, copy=False)
    _check_rank(checked, source)
    _check_lengths(checked, source)
    checked.setdefault("timeouts", np.zeros(len(checked["rewards"]), bool))
    return checked


# --- checks ------------------------------------------------------------------------------------------------


def _existing_hdf5(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    if path.is_dir():
        raise DatasetError(f"{path}: is a directory, not a D4RL HDF5 file")
    if not h5py.is_hdf5(path):
        raise DatasetError(f"{path}: not an HDF5 file")
    return path


def _row_array_names(file: h5py.File, path: Path) -> list[str]:
    """The main keys present, then every dataset below `infos/`; a main key that is a group is refused."""
    names = []
    for key in REQUIRED_KEYS + OPTIONAL_KEYS:
        if key in file:
            if not isinstance(file[key], h5py.Dataset):
                raise DatasetError(f"{path}: {key!r} is a group, expected an array of rows")
            names.append(key)
    infos = file.get("infos")
    if isinstance(infos, h5py.Group):
        infos.visititems(lambda name, item: names.append(f"infos/{name}") if isinstance(item, h5py.Dataset) else None)
    return names


def _column(array: np.ndarray, key: str, source: str) -> np.ndarray:
    """A per-row scalar stored (N,) or (N, 1), as (N,)."""
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    if array.ndim != 1:
        raise DatasetError(f"{source}: {key!r} has shape {array.shape}, expected (N,) or (N, 1)")
    return array


def _check_rank(arrays: dict[str, np.ndarray], source: str) -> None:
    observations = arrays["observations"]
    if observations.ndim < 2:
        raise DatasetError(f"{source}: 'observations' has shape {observations.shape}, expected (N, *obs_shape)")
    if "next_observations" in arrays and arrays["next_observations"].shape != observations.shape:
        raise DatasetError(f"{source}: 'next_observations' has shape {arrays['next_observations'].shape} but "
                           f"'observations' has {observations.shape}")
    for key, array in arrays.items():
        if array.ndim == 0:
            raise DatasetError(f"{source}: {key!r} is a scalar, expected one entry per row")


def _check_lengths(arrays: dict[str, np.ndarray], source: str) -> None:
    rows = len(arrays["observations"])
    for key, array in arrays.items():
        if len(array) != rows:
            raise DatasetError(f"{source}: {key!r} has {len(array)} rows but 'observations' has {rows}")


# --- storage conversions -----------------------------------------------------------------------------------


def _storage_array(name: str, array: np.ndarray) -> np.ndarray:
    if name in FLAG_KEYS:
        return array.astype(bool)
    if name in FLOAT_KEYS and not (name.endswith("observations") and np.issubdtype(array.dtype, np.integer)):
        return array.astype(np.float32)
    return array


def _metadata_value(key: str, value):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict | list | tuple):
        return json.dumps(value).encode("utf-8")
    if isinstance(value, bool | int | float | np.generic):
        return value
    raise DatasetError(f"metadata {key!r}: cannot store a {type(value).__name__} (use a string, number, dict or list)")


def _decoded(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value.item() if isinstance(value, np.generic) else value


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
