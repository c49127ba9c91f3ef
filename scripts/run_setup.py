"""What train and evaluate build from a run config: the env, the evaluation env, the offline data, the agent and
its loop, and the evaluation metrics (mean return, the agent's own, a normalised score where one is known)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class RunSetup:
    loop: Any
    metrics: Callable[[np.ndarray], dict]  # evaluation returns -> the metrics an evaluation reports


def with_default_eval_env(run):
    """`run` with its evaluation env filled in where the default is not --env itself: a `shift:` simulator is
    evaluated on its unshifted base env, the real system. Returns (run, the line that says so, or None)."""
    import dataclasses

    from envs.shift import base_env

    base = base_env(run.env) if run.eval_env is None else None
    if base is None:
        return run, None
    note = f"evaluating on {base}, the unshifted base of the simulator {run.env} (--eval-env to change)"
    return dataclasses.replace(run, eval_env=base), note


def build(run, entry, agent_config, seed: int | None = None) -> RunSetup:
    """Envs, dataset, agent and loop of `run` (a `core.config.RunConfig`) with a clear error for a bad mix."""
    import envs
    from core.config import ConfigError

    env = envs.make(run.env, **entry.env_options(run.env))
    eval_env = envs.make(run.eval_env, **entry.env_options(run.eval_env)) if run.eval_env else None
    agent = entry.build(agent_config, env.spec)
    if eval_env is not None and eval_env.spec.action_space != env.spec.action_space:
        raise ConfigError(f"--eval-env {run.eval_env} has another action space than --env {run.env}")
    if agent.uses_static_data and not run.dataset:
        raise ConfigError(f"--agent {run.agent} trains from offline data: give --dataset d4rl:PATH, minari:ID or "
                          f"a path (scripts/collect.py makes one)")
    if run.dataset and not agent.uses_static_data:
        raise ConfigError(f"--agent {run.agent} does not train from a dataset; drop --dataset (agents that do: "
                          f"cql, h2o, hnpg, moorl, sac-mix)")
    dataset, static = _static_data(run, env.spec)
    loop = entry.loop_cls(agent, env, run.log_every, run.seed if seed is None else seed, eval_env=eval_env,
                          static_data=static, deterministic_eval=run.eval_deterministic)
    score_env = run.eval_env or run.env
    return RunSetup(loop, lambda returns: evaluation_metrics(returns, loop, dataset, score_env))


def _static_data(run, spec) -> tuple[Any, dict]:
    if not run.dataset:
        return None, {}
    from core import replay
    from core.datasets import load_dataset
    from core.protocols import DATASET

    dataset = load_dataset(run.dataset, spec)
    return dataset, {DATASET: replay.from_arrays(dataset.transitions)}


def evaluation_metrics(returns: np.ndarray, loop, dataset, env_name: str) -> dict:
    """`mean_return`, `std_return`, `episodes`, the agent's metrics, and `normalized_score` (0-100) where
    reference returns are known: the dataset's own recorded ones, else D4RL's for the env."""
    from core.datasets import normalized_score, reference_returns
    from core.run import eval_summary

    metrics = {**eval_summary(returns), **loop.evaluation_metrics(returns)}
    mean = metrics["mean_return"]
    score = dataset.normalized_score(mean) if dataset is not None else None
    if score is None and reference_returns(env_name) is not None:
        score = normalized_score(env_name, mean)
    if score is not None:
        metrics["normalized_score"] = float(score)
    return metrics
