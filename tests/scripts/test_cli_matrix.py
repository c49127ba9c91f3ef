"""Every agent, every memory at one and two layers, and every env family, each through scripts/train.py once.

A covering set, not the cross product: compilation dominates a toy run on the CPU, so each case is chosen to
add something the others lack, and `test_the_matrix_covers_every_agent_memory_and_family` keeps it covering
when agents, memories or families are added. The runs are in-process (`train.main`), at toy sizes, with
budgets that are whole iterations so the CLI's rounding leaves them as they are.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

import envs
from agents.registry import AGENTS
from kernels import MEMORY_NAMES
from scripts import train

RUN = ["--total-steps", "16", "--eval-every", "16", "--eval-episodes", "1", "--no-progress"]
ON_POLICY = ["--num-envs", "2", "--num-steps", "8", "--num-minibatches", "1", "--update-epochs", "1",
             "--hidden", "8", "--encoder", "8", "--memory-size", "8", "--log-every", "16"]
# two chunks of 8 steps with learning_starts between them: one logged before the first update, one after
SAC = ["--num-envs", "2", "--hidden", "8", "--batch-size", "8", "--buffer-size", "64", "--learning-starts", "10",
       "--log-every", "8"]

ON_POLICY_CASES = [  # (agent, memory, layers, env)
    ("ppo", "none", 1, "jax:CartPole-v1"),
    ("ppo", "none", 2, "gym:CartPole-v1"),
    ("ppo", "lstm", 1, "jax:CartPole-v1"),
    ("ppo", "lstm", 2, "gym:CartPole-v1"),
    ("ppo", "gru", 1, "brax:fast?episode_length=16"),
    ("ppo", "gru", 2, "pomdp:RepeatPreviousEasy"),
    ("icrl", "s5", 1, "pomdp:ProjectedCartPole?trials=2"),
    ("ppo", "s5", 2, "pomdp:meta?base=jax:CartPole-v1&trials=2"),
    ("ppo", "s4d", 1, "pixels:pendulum_swingup?size=16&max_episode_steps=8"),  # PPO's CNN on uint8 frames
    ("ppo", "s4d", 2, "gym:Pendulum-v1"),
    ("ppo", "selective", 1, "brax:fast?episode_length=16"),
    ("icrl", "selective", 2, "jax:CartPole-v1"),
]
# SAC on a host env: tests/scripts/test_train_cli.py
SAC_ENVS = ["pomdp:meta?base=jax:Pendulum-v1&trials=2", "hybrid:bouncing_ball_paddle?max_episode_steps=16"]
# offline: 16 gradient steps on a dataset, evaluated on a host env (its learning: tests/agents/test_cql_learns.py)
CQL = ["--hidden", "8", "--batch-size", "8", "--cql-samples", "2", "--log-every", "8"]



def _train(tmp_path, *args: str) -> dict:
    summary = train.main([*args, *RUN, "--run-dir", str(tmp_path / "run")])
    assert summary["episodes"] == 1 and math.isfinite(summary["mean_return"])
    return summary


def _family(env: str) -> str:
    family, rest = env.split(":", 1)
    return "meta" if family == "pomdp" and rest.startswith(("meta", "Projected")) else family


@pytest.mark.parametrize(("agent", "memory", "layers", "env"), ON_POLICY_CASES,
                         ids=[f"{a}-{m}x{n}-{e.split('?')[0]}" for a, m, n, e in ON_POLICY_CASES])
def test_on_policy_agent_trains_through_the_cli(tmp_path, agent, memory, layers, env):
    _train(tmp_path, "--agent", agent, "--env", env, "--memory", memory, "--memory-layers", str(layers),
           *ON_POLICY)


@pytest.mark.parametrize("env", SAC_ENVS, ids=[e.split("?")[0] for e in SAC_ENVS])
def test_sac_trains_through_the_cli(tmp_path, env):
    _train(tmp_path, "--agent", "sac", "--env", env, *SAC)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [8, 16]


def test_cql_trains_through_the_cli_from_a_dataset(tmp_path):
    from core.datasets import write_d4rl

    rng = np.random.default_rng(0)
    obs = rng.normal(size=(64, 3)).astype(np.float32)
    path = write_d4rl(tmp_path / "pendulum.hdf5", {
        "observations": obs, "actions": rng.uniform(-2, 2, (64, 1)).astype(np.float32),
        "rewards": rng.normal(size=64).astype(np.float32), "next_observations": np.roll(obs, -1, axis=0),
        "terminals": np.zeros(64, bool), "timeouts": np.arange(64) % 16 == 15})
    _train(tmp_path, "--agent", "cql", "--env", "jax:Pendulum-v1", "--eval-env", "gym:Pendulum-v1", "--dataset",
           f"d4rl:{path}", *CQL)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [8, 16] and all("cql_penalty" in r for r in records)


# Agents and families whose CLI run (end to end, resumed) has a test file of its own.
COVERED_ELSEWHERE = {"h2o": "tests/agents/test_h2o_cli.py", "shift": "tests/agents/test_h2o_cli.py",
                     "moorl": "tests/agents/test_moorl_cli.py", "sac-mix": "tests/agents/test_moorl_cli.py",
                     "hnpg": "tests/agents/test_hnpg.py", "metra": "tests/agents/test_metra_cli.py",
                     "dreamer": "tests/agents/test_dreamer_cli.py", "nha_control": "tests/agents/test_nha_control.py"}


def test_the_matrix_covers_every_agent_memory_and_family():
    agents = {agent for agent, *_ in ON_POLICY_CASES} | {"sac", "cql"} | set(COVERED_ELSEWHERE) - {"shift"}
    assert agents == set(AGENTS)
    memories = {(memory, layers) for _, memory, layers, _ in ON_POLICY_CASES}
    assert memories == {(memory, layers) for memory in MEMORY_NAMES for layers in (1, 2)}
    families = {_family(env) for *_, env in ON_POLICY_CASES} | {_family(env) for env in SAC_ENVS} | {"shift"}
    assert families == {*envs.family_names(), "meta"}
    for path in COVERED_ELSEWHERE.values():
        assert (Path(__file__).resolve().parents[2] / path).is_file()
