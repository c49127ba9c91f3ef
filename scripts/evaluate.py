"""Evaluate a trained run: `python scripts/evaluate.py --run-dir DIR --episodes N`.

Rebuilds the agent from `DIR/config.json`, restores the last checkpoint, runs N episodes with the deterministic
policy, prints the result and adds it to the run's evaluation history,
`DIR/evaluations/eval__step{STEP}__{N}ep__seed{SEED}__{TIME}.json`, with the agent's own metrics (METRA: coverage,
random_coverage, goal_success) and, for an agent that draws its evaluation rollouts (METRA's skills), a picture
beside it with the same name and `.png`. The training's own final evaluation, `DIR/eval.json`, is never changed.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tyro  # noqa: E402

from scripts.cli_errors import one_line_errors  # noqa: E402


@dataclass(frozen=True)
class EvaluateArgs:
    """Evaluate the last checkpoint of a run directory. Each evaluation is kept in its own file,
    RUN_DIR/evaluations/eval__step{STEP}__{N}ep__seed{SEED}__{TIME}.json; the training's RUN_DIR/eval.json is
    left as it is."""

    run_dir: str
    """The run directory written by scripts/train.py."""
    episodes: int = 10
    """Episodes to run with the deterministic policy."""
    seed: int | None = None
    """Seed of the evaluation episodes; default: the run's own seed."""


def load_run(run_dir: Path):
    """The run config, registry entry and agent config of a run directory, with clear errors."""
    from agents.registry import get_agent
    from core.config import ConfigError, RunConfig, from_json
    from core.run import load_config_json
    from core.validation import check_config

    config_path = run_dir / "config.json"
    if not run_dir.exists():
        raise NotADirectoryError(f"run dir {run_dir} does not exist")
    if not run_dir.is_dir():
        raise NotADirectoryError(f"--run-dir {run_dir} is a file, not a run directory")
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found; is {run_dir} a run directory?")
    saved = load_config_json(config_path)
    try:
        run = from_json(RunConfig, saved["run"])
        entry = get_agent(run.agent)
        agent_config = from_json(entry.config_cls, saved["agent"])
        check_config(run)
        check_config(agent_config)
    except (KeyError, TypeError, ConfigError) as error:
        raise ConfigError(f"{config_path}: not a valid run config ({error})") from None
    return run, entry, agent_config


def main(argv: list[str] | None = None) -> dict:
    import jax

    from core.checkpoint import Checkpointer
    from scripts.run_setup import build

    args = tyro.cli(EvaluateArgs, args=sys.argv[1:] if argv is None else argv)
    if args.episodes <= 0:
        raise ValueError(f"--episodes must be positive, got {args.episodes}")
    run_dir = Path(args.run_dir)
    run, entry, agent_config = load_run(run_dir)
    checkpointer = Checkpointer(run_dir / "checkpoints")
    if checkpointer.latest_step() is None:
        raise FileNotFoundError(f"no checkpoint in {run_dir / 'checkpoints'}; has the run started?")
    seed = run.seed if args.seed is None else args.seed
    setup = build(run, entry, agent_config, seed)
    loop = setup.loop
    try:
        # The newest intact checkpoint: a damaged latest one is passed over with a warning, as when resuming.
        carry, extra = checkpointer.restore(loop.init_carry(jax.random.PRNGKey(run.seed)))
        step = int(extra["step"])
        if args.seed is not None:
            carry = dataclasses.replace(carry, key=jax.random.PRNGKey(seed))
        summary = {**setup.metrics(loop.evaluate(carry, args.episodes)), "step": step, "seed": seed}
    finally:
        loop.close()
        checkpointer.close()
    path = save_evaluation(run_dir, summary)
    print(f"mean_return {summary['mean_return']:.3f}  std_return {summary['std_return']:.3f}  "
          f"episodes {summary['episodes']}  (checkpoint at step {step}): {path}")
    extra = {k: v for k, v in summary.items() if k not in ("mean_return", "std_return", "episodes", "step", "seed")}
    if extra:
        print("  ".join(f"{name} {value:.4g}" for name, value in extra.items() if isinstance(value, int | float)))
    picture = loop.draw_evaluation(path.with_suffix(".png"))
    if picture is not None:
        print(f"picture of the evaluation rollouts: {picture}")
    return summary


def save_evaluation(run_dir: Path, summary: dict) -> Path:
    """Add `summary` to the run's evaluation history under a name no earlier evaluation has."""
    from core.files import write_json_atomically

    folder = run_dir / "evaluations"
    folder.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = f"eval__step{summary['step']}__{summary['episodes']}ep__seed{summary['seed']}__{stamp}"
    path = folder / f"{stem}.json"
    for repeat in itertools.count(2):  # the same evaluation twice within a second
        if not path.exists():
            break
        path = folder / f"{stem}__{repeat}.json"
    write_json_atomically(path, {**summary, "evaluated_at": stamp})
    return path


def cli() -> None:
    with one_line_errors("evaluate"):
        main()


if __name__ == "__main__":
    cli()
