"""Host arrays crossing to the device as one transfer: a tuple of `[B, ...]` numpy arrays packed into one
float32 `[B, total]` array on the host and unpacked, with the original shapes and dtypes, inside `jit`.

A host-env loop hands the device a handful of small arrays every env step (observations, reward, flags); each
is a transfer of its own with a fixed cost that, on a fast update, adds up to a visible share of the step.
Packing is exact for every dtype float32 holds exactly (float32, bool, (u)int8/16); other dtypes are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

EXACT_IN_FLOAT32 = tuple(np.dtype(d) for d in (np.float32, np.bool_, np.uint8, np.int8, np.uint16, np.int16))


@dataclass(frozen=True)
class Layout:
    """Where each array sits in the packed columns: its trailing shape and dtype."""

    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[np.dtype, ...]

    @staticmethod
    def of(arrays: tuple[np.ndarray, ...]) -> Layout | None:
        """The layout of `arrays`, or None when one of them cannot be packed exactly."""
        dtypes = tuple(np.asarray(a).dtype for a in arrays)
        if not all(d in EXACT_IN_FLOAT32 for d in dtypes):
            return None
        return Layout(tuple(np.shape(a)[1:] for a in arrays), dtypes)

    def pack(self, arrays: tuple[np.ndarray, ...]) -> np.ndarray:
        batch = np.shape(arrays[0])[0]
        return np.concatenate([np.asarray(a, np.float32).reshape(batch, -1) for a in arrays], axis=1)

    def unpack(self, packed: jnp.ndarray) -> tuple[jnp.ndarray, ...]:
        """Inside jit: the arrays `pack` was given."""
        out, start = [], 0
        for shape, dtype in zip(self.shapes, self.dtypes):
            width = int(np.prod(shape, dtype=int))
            column = packed[:, start:start + width].reshape(packed.shape[0], *shape)
            out.append(column.astype(dtype))
            start += width
        return tuple(out)
