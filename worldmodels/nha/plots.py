"""Figures of a fit: true test trajectories against the learned reconstruction of each segment, coloured by mode
(true modes on the data, learned modes on the model), and free simulations against true runs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from worldmodels.nha.segments import Normaliser, Segments  # noqa: E402

COLOURS = plt.get_cmap("tab10")


def plot_reconstruction(path: Path, segments: Segments, prediction, labels: np.ndarray | None,
                        normaliser: Normaliser, title: str, trajectories: int = 3) -> Path:
    """One row per test trajectory, one column per state dimension."""
    raw_true, raw_pred = normaliser.invert(segments.z), normaliser.invert(np.asarray(prediction))
    chosen = np.unique(segments.trajectory)[:trajectories]
    dims = segments.z.shape[-1]
    fig, axes = plt.subplots(len(chosen), dims, figsize=(5 * dims, 2.4 * len(chosen)), squeeze=False)
    for row, i in enumerate(chosen):
        for s in np.flatnonzero(segments.trajectory == i):
            real = segments.mask[s]
            for d in range(dims):
                ax = axes[row, d]
                true_colour = "0.6" if segments.mode[s] < 0 else COLOURS(segments.mode[s] % 10)
                ax.plot(segments.t[s, real], raw_true[s, real, d], color=true_colour, lw=3, alpha=0.35)
                learned_colour = "k" if labels is None else COLOURS(int(labels[s]) % 10)
                ax.plot(segments.t[s, real], raw_pred[s, real, d], color=learned_colour, lw=1, ls="--")
        for d in range(dims):
            axes[row, d].set_ylabel(f"traj {i}, x[{d}]")
    axes[-1, 0].set_xlabel("t")
    fig.suptitle(f"{title}: true (thick, true mode colour) vs learned (dashed, learned mode colour)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_simulation(path: Path, t: np.ndarray, true_x: np.ndarray, true_mode: np.ndarray, sim_x: np.ndarray,
                    sim_mode: np.ndarray, title: str, runs: int = 3) -> Path:
    """Free runs of the learned automaton beside true runs (not paired: both are random)."""
    dims = true_x.shape[-1]
    fig, axes = plt.subplots(2, dims, figsize=(5 * dims, 5), squeeze=False)
    for row, (x, mode, name) in enumerate(((true_x, true_mode, "true"), (sim_x, sim_mode, "learned"))):
        for r in range(min(runs, x.shape[0])):
            for d in range(dims):
                axes[row, d].scatter(t, x[r, :, d], c=[COLOURS(int(m) % 10) for m in mode[r]], s=1)
                axes[row, d].set_ylabel(f"{name} x[{d}]")
    axes[-1, 0].set_xlabel("t")
    fig.suptitle(f"{title}: simulated runs coloured by mode (learned modes mapped to true names)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
