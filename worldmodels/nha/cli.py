"""The hybrid-system models of `scripts/fit.py`: `--model nha|node|latent_node --data hybrid:NAME|PATH.npz`.

Their data (trajectories t[N, T], x[N, T, n]) and options differ from the image world models', so the script
hands their command line here whole (docs/nha.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro

from worldmodels.nha.fit import NHAFitOptions, fit_nha


@dataclass(frozen=True)
class HybridFitArgs:
    """Fit NHA (neural hybrid automaton) or a baseline to hybrid-system trajectories."""

    model: Literal["nha", "node", "latent_node"]
    """Model: nha (modes, flows, events), node (one augmented neural ODE), latent_node (latent-augmented)."""
    data: str
    """hybrid:reno_tcp, hybrid:switching_linear, hybrid:bouncing_ball, or PATH.npz."""
    run_dir: Path
    """Directory for eval.json and the PNGs."""
    modes: int = 3
    """Upper bound on the number of modes (NHA; pruning and merging remove the unneeded ones)."""
    seed: int = 0
    """Seed of the data split or generation, the initialisation and the sampling."""
    options: Annotated[NHAFitOptions, tyro.conf.OmitArgPrefixes] = NHAFitOptions()


def main(argv: list[str], description: str) -> dict:
    """`scripts/fit.py --model nha|node|latent_node ...`: fit, write eval.json and the PNGs; returns eval.json."""
    args = tyro.cli(HybridFitArgs, args=argv, description=description)
    evaluation = fit_nha(args.model, args.data, args.modes, args.run_dir, args.seed, args.options)
    shown = {k: v for k, v in evaluation.items() if k in ("test_mse", "v_measure", "homogeneity", "completeness")}
    print(f"{args.model} on {args.data}: {shown}; wrote {args.run_dir / 'eval.json'}")
    return evaluation
