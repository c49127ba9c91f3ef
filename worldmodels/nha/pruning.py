"""Mode pruning and merging after stage 2: m is an upper bound, and modes the data do not need are removed.

A mode that labels fewer than `min_fraction` of the segments is dropped (its segments go to their next most
likely mode); two modes whose fields differ by less than `tolerance` (RMS over the data's states, in normalised
units) are merged into the lower-numbered one."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from worldmodels.nha.flows import mode_fields


def active_modes(logits: np.ndarray, min_fraction: float = 0.01) -> np.ndarray:
    """[m] True for the modes that label at least `min_fraction` of the segments (the most used always stays)."""
    logits = np.asarray(logits)
    counts = np.bincount(logits.argmax(1), minlength=logits.shape[1])
    active = counts >= min_fraction * logits.shape[0]
    active[counts.argmax()] = True
    return active


def merge_map(flow_params: dict, support: np.ndarray, active: np.ndarray, tolerance: float = 0.05,
              mask: jax.Array | None = None, controls: np.ndarray | None = None) -> np.ndarray:
    """[m] the mode each mode is merged into (itself when kept); inactive modes map to themselves."""
    u = jnp.zeros((support.shape[0], 0)) if controls is None else jnp.asarray(controls)
    fields = np.asarray(jax.vmap(lambda z, c: mode_fields(flow_params, z, c, mask))(jnp.asarray(support), u))
    modes = fields.shape[1]
    target = np.arange(modes)
    for b in range(modes):
        for a in range(b):
            if active[a] and active[b] and target[a] == a:
                rms = np.sqrt(np.mean((fields[:, a] - fields[:, b]) ** 2))
                if rms < tolerance:
                    target[b] = a
                    break
    return target


def assign(logits, active: np.ndarray, merge_to: np.ndarray):
    """Mode labels: argmax over the active modes, then merged. Works on numpy or JAX arrays (jit-able)."""
    xp = jnp if isinstance(logits, jax.Array) else np
    masked = xp.where(xp.asarray(active), logits, -xp.inf)
    return xp.asarray(merge_to)[xp.argmax(masked, axis=-1)]
