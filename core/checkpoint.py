"""Orbax checkpoints of a whole learner state (params, optimiser, counters, RNG, replay), written atomically.

Orbax writes each step into a temporary directory and renames it when complete, so a run killed mid-save leaves
the previous checkpoint intact. We save synchronously: a run that exits right after `save` has its checkpoint.

A checkpoint can still be damaged afterwards (a truncated file, a missing item, an emptied step dir). Restoring
then falls back to the newest intact one with a one-line warning, and never edits what is saved: a damaged step
is only moved aside (to `STEP.unreadable`) when the resumed run reaches that step and must save it again.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp


class CheckpointError(ValueError):
    """No checkpoint of a run dir can be restored; reported to the user as one line."""


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:200]


class Checkpointer:
    def __init__(self, directory: Path, max_to_keep: int = 2):
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=False)
        self.directory = Path(directory).absolute()
        self.manager = ocp.CheckpointManager(self.directory, options=options)
        self.unreadable: set[int] = set()  # steps found damaged by `restore`, moved aside before a new save

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(self, step: int, state: Any, extra: dict | None = None) -> None:
        """Save the pytree `state` and a small JSON dict of host-side facts under `step`."""
        if step in self.unreadable:
            self._move_aside(step)
        args = ocp.args.Composite(state=ocp.args.StandardSave(state), extra=ocp.args.JsonSave(extra or {}))
        self.manager.save(step, args=args, force=True)
        self.manager.wait_until_finished()

    def restore(self, like: Any, step: int | None = None) -> tuple[Any, dict]:
        """Restore into the structure, shapes and dtypes of `like`; returns (state, extra).

        Without `step`, the newest intact checkpoint: damaged newer ones are skipped with a warning on stderr.
        """
        steps = [step] if step is not None else sorted(self.manager.all_steps(), reverse=True)
        if not steps:
            raise CheckpointError(f"no checkpoint in {self.directory}")
        problems = []
        for candidate in steps:
            try:
                return self._restore_step(like, candidate)
            except Exception as error:  # noqa: BLE001 - any failure to read a step means: try an older one
                problems.append(f"step {candidate}: {_first_line(error)}")
                self.unreadable.add(candidate)
                if candidate != steps[-1]:
                    print(f"warning: checkpoint {self.directory / str(candidate)} is unreadable "
                          f"({_first_line(error)}); falling back to an older one", file=sys.stderr)
        raise CheckpointError(f"no readable checkpoint in {self.directory} ({'; '.join(problems)})")

    def _restore_step(self, like: Any, step: int) -> tuple[Any, dict]:
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
        args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract), extra=ocp.args.JsonRestore())
        with _quiet_orbax():
            restored = self.manager.restore(step, args=args)
        extra = dict(restored.extra or {})
        if int(extra.get("step", step)) != step:
            raise CheckpointError(f"its extra item records step {extra.get('step')}")
        return restored.state, extra

    def _move_aside(self, step: int) -> None:
        source = self.directory / str(step)
        target = self.directory / f"{step}.unreadable"
        suffix = 1
        while target.exists():
            target, suffix = self.directory / f"{step}.unreadable.{suffix}", suffix + 1
        if source.exists():
            source.rename(target)
            print(f"warning: kept the unreadable checkpoint of step {step} as {target}", file=sys.stderr)
        self.unreadable.discard(step)
        self.manager.reload()

    def close(self) -> None:
        self.manager.close()

    def __enter__(self) -> Checkpointer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def _quiet_orbax():
    """Orbax and tensorstore log pages of detail when a step fails to load; our one-line warning says it all."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
