"""Small file helpers shared by the run, evaluation and benchmark scripts."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path


def write_json_atomically(path: Path, payload: dict) -> None:
    """Write to a temporary file and rename, so a reader never sees half a file.

    The temporary file is opened with mode 0o666 like a plain `open()` (the kernel applies the umask), so the
    result is readable by others as every other file of a run; `tempfile.mkstemp` would leave it 0o600.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
