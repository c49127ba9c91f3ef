"""Fit a model of a hybrid system to trajectories: `python scripts/fit.py --model nha --data hybrid:reno_tcp
--modes 3 --run-dir DIR`.

--data is a `hybrid:` generator (reno_tcp, switching_linear, bouncing_ball) or a `.npz` with t[N, T], x[N, T, n]
and optionally mode[N, T] (true modes, for the metrics only), boundary[N, T] (True at each segment's first
sample; detected from jumps in x when absent), mask[N, T] and u[N, T, k] (docs/nha.md). The run dir receives
eval.json (test_mse, and v_measure, homogeneity, completeness where true modes are given, and simulation metrics
for generated systems) and trajectories.png. Bad data exits 2 with one line and writes nothing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

if __package__ in (None, ""):  # run as a file: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tyro  # noqa: E402

from scripts.cli_errors import one_line_errors  # noqa: E402
from worldmodels.nha.fit import NHAFitOptions, fit_nha  # noqa: E402


@dataclass(frozen=True)
class FitArgs:
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


def main(argv: list[str] | None = None) -> dict:
    args = tyro.cli(FitArgs, args=sys.argv[1:] if argv is None else argv)
    evaluation = fit_nha(args.model, args.data, args.modes, args.run_dir, args.seed, args.options)
    shown = {k: v for k, v in evaluation.items() if k in ("test_mse", "v_measure", "homogeneity", "completeness")}
    print(f"{args.model} on {args.data}: {shown}; wrote {args.run_dir / 'eval.json'}")
    return evaluation


def cli(argv: list[str] | None = None) -> None:
    with one_line_errors("fit"):
        main(argv)


if __name__ == "__main__":
    cli()
