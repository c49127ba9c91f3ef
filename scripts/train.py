"""Train an agent on an environment: `python scripts/train.py --agent sac --env jax:Pendulum-v1 ...`.

Each agent adds its own options; `--agent NAME --help` lists them. --env and --total-steps are enough for any
agent: the step counts (total, --log-every, --eval-every, --checkpoint-every, --stop-after) are rounded to whole
loop iterations and chunks, and one line says what was rounded.

Rerunning the same command on the same `--run-dir` resumes from its last checkpoint; a larger --total-steps extends
a finished run. A pause (Ctrl-C, SIGTERM, --stop-after) saves a checkpoint, prints the command that resumes it and
exits with status 75, so `train && evaluate` stops there; a second Ctrl-C exits 130 at once (resume from the last
checkpoint). Errors exit 2 with one line.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from pathlib import Path
from typing import Annotated

if __package__ in (None, ""):  # run as a file: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tyro  # noqa: E402

from scripts.cli_errors import one_line_errors  # noqa: E402


def requested_agent(argv: list[str], default: str = "sac") -> str:
    """The value of --agent, read before the full parse because it decides which options exist."""
    for i, arg in enumerate(argv):
        if arg == "--agent" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--agent="):
            return arg.split("=", 1)[1]
    return default


def parse_args(argv: list[str]):
    from agents.registry import AGENTS, get_agent
    from core.config import RunConfig

    entry = get_agent(requested_agent(argv))
    fields = [
        ("run", Annotated[RunConfig, tyro.conf.OmitArgPrefixes], dataclasses.field(default_factory=RunConfig)),
        ("hparams", Annotated[entry.config_cls, tyro.conf.OmitArgPrefixes],
         dataclasses.field(default_factory=entry.config_cls)),
    ]
    args_cls = dataclasses.make_dataclass("TrainArgs", fields, frozen=True)
    agents = "; ".join(f"{name}: {e.summary}" for name, e in sorted(AGENTS.items()))
    description = f"{__doc__.strip()}\n\nAgents: {agents}. Options below are for --agent {entry.name}."
    return entry, tyro.cli(args_cls, args=argv, description=description)


def main(argv: list[str] | None = None) -> dict:
    """Train as the command line says; returns the final evaluation, or `{}` when the run paused."""
    from core.budget import round_budget
    from core.config import default_run_dir, validate
    from core.run import short_chunk_of, train
    from core.validation import check_config
    from scripts.run_setup import build, with_default_eval_env

    argv = sys.argv[1:] if argv is None else argv
    entry, args = parse_args(argv)
    run = dataclasses.replace(args.run, agent=entry.name)
    validate(run)
    check_config(args.hparams)
    run, eval_note = with_default_eval_env(run)
    run_dir = Path(run.run_dir) if run.run_dir else default_run_dir(run)
    run = dataclasses.replace(run, run_dir=str(run_dir))
    run, rounding = round_budget(run, entry.loop_cls.iteration_steps(args.hparams), short_chunk_of(run_dir))
    setup = build(run, entry, args.hparams)
    loop = setup.loop
    notes = [n for n in (eval_note, rounding) if n] + [f"warning: {w}" for w in loop.warnings(run.total_steps)]
    for note in notes:
        print(note, file=sys.stderr)
    try:
        outcome = train(run, args.hparams, loop, run_dir, setup.metrics)
    finally:
        loop.close()
    if outcome.paused:
        print(f"paused at step {outcome.step} ({outcome.pause_reason}); run dir: {run_dir}")
        print(f"resume with: {resume_command(argv, run_dir)}")
        return {}
    summary = outcome.summary
    score = f", normalized score {summary['normalized_score']:.1f}" if "normalized_score" in summary else ""
    print(f"final evaluation: mean return {summary['mean_return']:.2f} +- {summary['std_return']:.2f} "
          f"over {summary['episodes']} episodes{score}")
    print(f"run dir:          {run_dir}")
    print(f"tensorboard logs: {run_dir / 'tensorboard'}  (tensorboard --logdir {run_dir})")
    print(f"learning curve:   {run_dir / 'learning_curve.png'}")
    return summary


# Options dropped from the command that resumes a paused run: it names the run dir itself, and a pause point
# reached already would pause it again at once.
_NOT_RESUMED = ("--run-dir", "--run_dir", "--stop-after", "--stop_after")


def resume_command(argv: list[str], run_dir: Path) -> str:
    """The command line that finishes a paused run: this one, on its run dir, without its pause point."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _NOT_RESUMED:
            skip = True
        elif not arg.startswith(tuple(f"{option}=" for option in _NOT_RESUMED)):
            kept.append(arg)
    program = sys.argv[0] if sys.argv and sys.argv[0].endswith("train.py") else "scripts/train.py"
    launcher = "hsrl-train" if sys.argv and Path(sys.argv[0]).name == "hsrl-train" else f"python {program}"
    return shlex.join([*launcher.split(" "), *kept, "--run-dir", str(run_dir)])


def cli() -> None:
    from core.run import PAUSED_EXIT_STATUS

    with one_line_errors("train", "interrupted again before the next checkpoint; rerun the same command to resume "
                                  "from the last one"):
        if not main():
            sys.exit(PAUSED_EXIT_STATUS)


if __name__ == "__main__":
    cli()
