"""Typed run configuration shared by every agent; agents add their own config dataclass beside it."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from core.validation import ConfigError, check_config, flag, non_negative, optional, positive, seed_range, text


@dataclass(frozen=True)
class RunConfig:
    """What to train, for how long, and where the results go."""

    agent: Annotated[str, text] = "sac"
    """Agent: sac (Soft Actor-Critic), ppo (PPO, optionally recurrent), icrl (in-context RL, S5 memory), cql
    (Conservative Q-Learning, offline from --dataset), h2o (hybrid: --dataset from the real system, --env a
    simulator), moorl (hybrid: Reptile meta step across --dataset and the online replay), sac-mix (SAC on half
    --dataset, half online batches), hnpg (hybrid natural policy gradient with --dataset in its critic), metra
    (unsupervised skill discovery; --method diayn for DIAYN), dreamer (actor-critic in a world model's
    imagination, from pixels; --world-model hrssm|rssm) or nha_control (control with neural hybrid automata on
    hybrid:unicycle_resources or hybrid:bouncing_ball_paddle)."""
    env: Annotated[str, text] = "jax:Pendulum-v1"
    """Environment as FAMILY:ID[?key=value&...], e.g. jax:CartPole-v1, gym:HalfCheetah-v5, brax:ant?backend=spring,
    pomdp:RepeatPreviousEasy, shift:HalfCheetah-v5?gravity=2.0 (a dynamics-shifted simulator, docs/shift.md), or
    pixels:pendulum_swingup?distractor=shapes (image observations with distractors, docs/pixels.md)."""
    eval_env: Annotated[str | None, optional(text)] = None
    """Environment the evaluations run in (same syntax as --env); default: --env, or for a shift: simulator its
    unshifted base env (the real system)."""
    dataset: Annotated[str | None, optional(text)] = None
    """Offline data for agents that train from it (cql, h2o): d4rl:PATH (D4RL-layout HDF5), minari:ID (a local Minari
    dataset), or a path to either; see scripts/collect.py to make one."""
    total_steps: Annotated[int, positive] = 50_000
    """Total steps to train for: env steps, plus the pretrain updates of agents that have them; for an agent that
    takes no env steps (cql) every step is a gradient step."""
    seed: Annotated[int, seed_range] = 0
    """Random seed; the same seed on the same machine gives the same run."""
    run_dir: Annotated[str | None, optional(text)] = None
    """Run directory; default runs/ENV__AGENT__SEED__TIME. Rerunning on an existing run dir resumes it."""
    log_every: Annotated[int, positive] = 1000
    """Steps (env steps; gradient steps in a pretrain phase) per compiled chunk of training, and between log lines."""
    eval_every: Annotated[int, non_negative] = 5000
    """Steps between evaluations (rounded to whole chunks); 0: only the final evaluation."""
    eval_episodes: Annotated[int, positive] = 10
    """Episodes per evaluation."""
    eval_deterministic: Annotated[bool, flag] = True
    """Evaluate the deterministic policy (the mean action, the arg-max); --no-eval-deterministic samples."""
    checkpoint_every: Annotated[int, non_negative] = 5000
    """Steps between checkpoints (rounded to whole chunks); 0: only the ones at the end and on a pause."""
    stop_after: Annotated[int | None, optional(positive)] = None
    """Pause this invocation after this many total steps, with a checkpoint (e.g. for preemptible jobs)."""
    progress: Annotated[bool, flag] = True
    """Show a progress bar."""


def validate(run: RunConfig) -> None:
    """Refuse a run config that cannot run, before anything is built or written."""
    check_config(run)


def default_run_dir(run: RunConfig) -> Path:
    env = run.env.replace(":", "_").replace("/", "_").replace("?", "_").replace("&", "_").replace("=", "-")
    return Path("runs") / f"{env}__{run.agent}__{run.seed}__{time.strftime('%Y%m%d-%H%M%S')}"


def to_json(run: RunConfig, agent_config: Any) -> dict:
    return {"run": dataclasses.asdict(run), "agent": dataclasses.asdict(agent_config)}


def from_json(config_cls: type, values: dict) -> Any:
    """Rebuild a frozen config dataclass from JSON, restoring tuples that JSON turned into lists."""
    fields = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(values) - fields
    if unknown:
        raise ConfigError(f"unknown config fields for {config_cls.__name__}: {sorted(unknown)}")
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return config_cls(**converted)


# Options that may differ between the invocations of one run without changing its result; a larger
# total_steps extends the run (chunk boundaries and the schedule stay those of the first invocation).
RESUMABLE_DIFFERENCES = {"stop_after", "progress", "run_dir", "total_steps"}


def check_same_run(saved: dict, current: dict) -> None:
    """A run dir resumes only the run that made it; anything else is an error, not a silent mix."""
    for section in ("run", "agent"):
        for key in set(saved.get(section, {})) | set(current[section]):
            if section == "run" and key in RESUMABLE_DIFFERENCES:
                continue
            if key not in saved.get(section, {}):
                continue  # an option added after the run was saved: it ran with that option's default
            old, new = saved.get(section, {}).get(key), current[section].get(key)
            if json.loads(json.dumps(old)) != json.loads(json.dumps(new)):
                raise ConfigError(
                    f"run dir holds a run with {section}.{key}={old!r}, not {new!r}; use a new --run-dir"
                )
