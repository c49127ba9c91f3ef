"""Fit a world model offline and probe its representation: `python scripts/fit.py --model hrssm --data ENV_OR_PATH
--run-dir DIR`.

--data is an env name (e.g. 'pixels:pendulum_swingup?distractor=shapes'), from which a dataset of random
sticky-action episodes is collected first (all episodes at once, vmapped) and saved as RUN_DIR/dataset.npz; or
an episode dataset file (.npz, .h5, .hdf5) in the layout of docs/worldmodels.md ("Fitting offline"): image,
action, reward per step, and optionally task_state and distractor_state, the probe targets.

The last --holdout episodes are held out. The model trains --updates jitted updates on windows of the others,
then eval.json gets the probes, read from the acting features (the posterior of each clean frame):
  task_state_r2        ridge R^2 of the true task state, fitted on training episodes, scored on held-out ones
  distractor_state_r2  the same for the distractors' state (lower: the model ignores them more)
  task_state_invariant_r2  the same for the task state up to its mirror image (pendulum: cos theta, |sin theta|,
                       theta dot sign(sin theta)); a model that learns from rewards alone can only hold this much
  distractor_features_r2   the same for the distractors in an order-free form (shapes: a density map of centres)
  ..._r2_per_dim       each, one R^2 per dimension of the target (pendulum: cos theta, sin theta, theta dot)
  reward_mse           the reward head's squared error on held-out episodes

A probe whose target the data lacks is null, with a note. PNGs: reconstructions.png (rssm: frames above the
decoder's reconstructions) or masks.png (hrssm: frames above their cube-masked inputs).

Rerunning the same command on the same --run-dir resumes from the last checkpoint (every --checkpoint-every
updates); a finished run is left as it is, and a larger --updates extends it. A run dir that holds a fit with
other options is refused. Errors exit 2 with one line, before anything is written.

Models are registered in worldmodels/fitting/ (name -> module with its own Options, check and fit); adding one
is a new module and one line in its FITTERS. `--model NAME --help` lists that model's options.

Hybrid dynamical systems: `--model nha|node|latent_node --data hybrid:reno_tcp|PATH.npz --modes M --run-dir DIR`
fits a neural hybrid automaton or a neural-ODE baseline to trajectories (t[N, T], x[N, T, n], optionally
mode[N, T] and boundary[N, T]) and writes eval.json (test_mse; v_measure, homogeneity and completeness where true
modes are given; simulation metrics for generated systems) and trajectories.png; see docs/nha.md.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Annotated

if __package__ in (None, ""):  # run as a file: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tyro  # noqa: E402

from core.validation import positive, positive_number, seed_range, unit_interval  # noqa: E402
from scripts.cli_errors import one_line_errors  # noqa: E402

DATA_FILE = "dataset.npz"
SETTINGS_FILE = "fit.json"
EVAL_FILE = "eval.json"
DATA_SUFFIXES = (".npz", ".h5", ".hdf5")


@dataclasses.dataclass(frozen=True)
class FitArgs:
    """The options every model shares."""

    data: str
    """An env name to collect random episodes from (e.g. 'pixels:pendulum_swingup?distractor=shapes'), or an
    episode dataset file (.npz, .h5, .hdf5; layout in docs/worldmodels.md)."""
    run_dir: str
    """Where the dataset (when collected), checkpoints, metrics.jsonl, eval.json and the PNGs go."""
    model: str = "hrssm"
    """The world model: rssm (Dreamer's decoder RSSM) or hrssm; worldmodels/fitting/ lists them."""
    seed: Annotated[int, seed_range] = 0
    """Seed of the model's initialisation, its batches and (when collecting) the data."""
    updates: Annotated[int, positive] = 2000
    """Model updates (each one jitted call on a batch of B windows of T steps)."""
    holdout: Annotated[int, positive] = 50
    """Episodes held out from training: the probes are scored on them."""
    episodes: Annotated[int, positive] = 300
    """Episodes to collect when --data is an env."""
    episode_length: Annotated[int, positive] = 100
    """Steps per collected episode (frames, the first one included)."""
    sticky: Annotated[float, unit_interval] = 0.8
    """When collecting: chance that a step repeats the previous random action rather than drawing a new one."""
    ridge_alpha: Annotated[float, positive_number] = 1.0
    """Ridge penalty of the probes, on standardised features."""
    checkpoint_every: Annotated[int, positive] = 500
    """Updates between checkpoints (and at the end); a rerun resumes from the last one."""
    log_every: Annotated[int, positive] = 100
    """Updates between lines of metrics.jsonl."""
    progress: bool = True
    """Show a progress bar (on a terminal)."""


# Models of hybrid dynamical systems (worldmodels/nha): their own data and options, so their own parser.
HYBRID_MODELS = ("nha", "node", "latent_node")

# Options that may change between a run and its resumption: they do not change what is fitted.
RESUMABLE = ("updates", "checkpoint_every", "log_every", "progress")


def requested_model(argv: list[str], default: str = "hrssm") -> str:
    """The value of --model, read before the full parse because it decides which options exist."""
    for i, arg in enumerate(argv):
        if arg == "--model" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--model="):
            return arg.split("=", 1)[1]
    return default


def parse_args(argv: list[str]):
    from worldmodels.fitting import FITTERS, load_fitter

    name = requested_model(argv)
    fitter = load_fitter(name, also=HYBRID_MODELS)
    fields = [("fit", Annotated[FitArgs, tyro.conf.OmitArgPrefixes]),
              ("model_options", Annotated[fitter.Options, tyro.conf.OmitArgPrefixes],
               dataclasses.field(default_factory=fitter.Options))]
    args_cls = dataclasses.make_dataclass("FitCommand", fields, frozen=True)
    models = "; ".join([f"{n}: {load_fitter(n).SUMMARY}" for n in sorted(FITTERS)] +
                       [f"{', '.join(HYBRID_MODELS)}: hybrid-system models (docs/nha.md)"])
    description = f"{__doc__.strip()}\n\nModels: {models}. Options below are for --model {name}."
    return fitter, tyro.cli(args_cls, args=argv, description=description)


def main(argv: list[str] | None = None) -> dict:
    """Fit and probe as the command line says; returns eval.json's contents."""
    from core.validation import check_config

    argv = sys.argv[1:] if argv is None else argv
    if requested_model(argv) in HYBRID_MODELS:
        from worldmodels.nha import cli as hybrid

        return hybrid.main(argv, description=__doc__.strip())
    fitter, args = parse_args(argv)
    fit_args, options = args.fit, args.model_options
    check_config(fit_args)
    check_config(options)
    run_dir = Path(fit_args.run_dir)
    settings = fit_settings(fit_args, options)
    finished = previous_fit(run_dir, settings, fit_args.updates)
    if finished is not None:
        print(f"{run_dir} already holds this fit at {finished['updates']} updates (eval.json); nothing to do")
        return finished
    data = prepare_data(fit_args, fitter, options, run_dir)
    return fit_and_probe(fitter, fit_args, options, data, run_dir, settings)


def fit_settings(fit_args: FitArgs, options) -> dict:
    """What decides the fit: every option but the budget and the bookkeeping."""
    shared = {k: v for k, v in dataclasses.asdict(fit_args).items() if k not in RESUMABLE + ("run_dir",)}
    return {**shared, "model_options": dataclasses.asdict(options)}


def previous_fit(run_dir: Path, settings: dict, updates: int) -> dict | None:
    """eval.json of a finished fit of these settings with at least `updates` updates; None to (re)start. A run dir
    of another fit, or a non-empty folder that is no fit's, is refused."""
    if run_dir.exists() and not run_dir.is_dir():
        raise NotADirectoryError(f"--run-dir {run_dir} is a file")
    saved = run_dir / SETTINGS_FILE
    if not saved.exists():
        if run_dir.exists() and any(run_dir.iterdir()):
            raise FileExistsError(f"--run-dir {run_dir} is not empty and holds no fit ({SETTINGS_FILE}); choose "
                                  f"another")
        return None
    before = json.loads(saved.read_text())
    if before != json.loads(json.dumps(settings)):
        changed = sorted(k for k in set(before) | set(settings) if before.get(k) != json.loads(json.dumps(
            settings)).get(k))
        raise FileExistsError(f"--run-dir {run_dir} holds a fit with other options ({', '.join(changed)}); "
                              f"choose another --run-dir")
    evaluation = run_dir / EVAL_FILE
    if evaluation.exists():
        finished = json.loads(evaluation.read_text())
        if finished.get("updates", 0) >= updates:
            return finished
    return None


def prepare_data(fit_args: FitArgs, fitter, options, run_dir: Path):
    """The episodes to fit, checked against the model's options; collected ones are saved in the run dir (and
    read back from there on a rerun). Nothing is written before every check has passed."""
    from worldmodels import episodes

    saved = run_dir / DATA_FILE
    if is_data_file(fit_args.data):
        data = episodes.load(fit_args.data)
    elif saved.exists():
        data = episodes.load(saved)
    else:
        data = collected(fit_args, fitter, options)
    fitter.check(options, data.image_size, data.action_dim, data.length)
    episodes.split(data, fit_args.holdout)  # refuses a holdout that leaves no training episode
    run_dir.mkdir(parents=True, exist_ok=True)
    if not is_data_file(fit_args.data) and not saved.exists():
        episodes.save(data, saved)
    return data


def is_data_file(data: str) -> bool:
    """A path ending in a dataset suffix is a file; anything else names an env."""
    return Path(data).suffix in DATA_SUFFIXES


def collected(fit_args: FitArgs, fitter, options):
    """Random sticky-action episodes from the env named by --data, after checking the model fits its frames."""
    import envs
    from worldmodels.collection import check_env, collect

    env = envs.make(fit_args.data)
    check_env(env, fit_args.data, fit_args.episode_length)
    fitter.check(options, env.spec.observation_space.shape[0], env.spec.action_space.shape[0],
                 fit_args.episode_length)
    print(f"collecting {fit_args.episodes} episodes x {fit_args.episode_length} steps from {fit_args.data}",
          file=sys.stderr)
    return collect(fit_args.data, fit_args.episodes, fit_args.episode_length, fit_args.sticky, fit_args.seed)


def fit_and_probe(fitter, fit_args: FitArgs, options, data, run_dir: Path, settings: dict) -> dict:
    from worldmodels import episodes
    from worldmodels.fitting import FitRun

    (run_dir / SETTINGS_FILE).write_text(json.dumps(settings, indent=1) + "\n")
    train, heldout = episodes.split(data, fit_args.holdout)
    run = FitRun(run_dir, fit_args.seed, fit_args.updates, fit_args.checkpoint_every, fit_args.log_every,
                 fit_args.progress)
    start = time.perf_counter()
    fitted = fitter.fit(options, train, run)
    seconds = time.perf_counter() - start
    evaluation = {"model": fit_args.model, "data": fit_args.data, "seed": fit_args.seed, "updates": fit_args.updates,
                  "train_episodes": train.num_episodes, "heldout_episodes": heldout.num_episodes,
                  **probe_all(fitted, train, heldout, fit_args.ridge_alpha),
                  "fit_seconds": seconds, "final_metrics": fitted.metrics}
    evaluation["pictures"] = [str(p.relative_to(run_dir)) for p in fitted.pictures(heldout, run_dir)]
    (run_dir / EVAL_FILE).write_text(json.dumps(evaluation, indent=1) + "\n")
    print(summary_line(evaluation))
    print(f"run dir: {run_dir}")
    return evaluation


def probe_all(fitted, train, heldout, alpha: float) -> dict:
    """The probes on held-out episodes; a probe without its target in the data is null with a note."""
    import numpy as np

    from worldmodels.episodes import OPTIONAL
    from worldmodels.probes import flat_steps, mean_r2, ridge_r2_per_dimension

    out, notes = {}, []
    train_x, test_x = flat_steps(fitted.features(train)), flat_steps(fitted.features(heldout))
    for name in OPTIONAL:
        key = f"{name}_r2"
        train_y, test_y = getattr(train, name), getattr(heldout, name)
        if train_y is None or train_y.shape[-1] == 0:
            out[key], out[f"{key}_per_dim"] = None, None
            notes.append(f"{key} skipped: the data holds no {name}")
            continue
        scores = ridge_r2_per_dimension(train_x, flat_steps(train_y), test_x, flat_steps(test_y), alpha)
        out[key], out[f"{key}_per_dim"] = mean_r2(scores), scores  # pendulum: cos theta, sin theta, theta dot
    # Step 0 of an episode has no reward: it was not arrived at.
    error = fitted.predicted_reward(heldout)[:, 1:] - heldout.reward[:, 1:]
    out["reward_mse"] = float(np.mean(error**2))
    out["notes"] = notes
    return out


def summary_line(evaluation: dict) -> str:
    show = lambda v: "n/a" if v is None else f"{v:.3f}"
    return (f"{evaluation['model']} after {evaluation['updates']} updates: task state R^2 "
            f"{show(evaluation['task_state_r2'])} (up to its mirror image "
            f"{show(evaluation['task_state_invariant_r2'])}), "
            f"distractor R^2 {show(evaluation['distractor_state_r2'])} (order-free "
            f"{show(evaluation['distractor_features_r2'])}), reward MSE {evaluation['reward_mse']:.4f} "
            f"(held-out episodes)")


def cli(argv: list[str] | None = None) -> None:
    with one_line_errors("fit"):
        main(argv)


if __name__ == "__main__":
    cli()
