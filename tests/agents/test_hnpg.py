"""HNPG (agents/hnpg.py): with offline data it opens a short combination lock in fewer online samples than the
same agent without (--no-hybrid, plain NPG); end to end through scripts/train.py on the lock (per_step mode,
dataset from scripts/collect.py's eps-greedy generator) and on Pendulum with a D4RL file (stationary mode); an
interrupted run resumes exactly; bad mixes of options fail in one line."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents.hnpg import HNPG, PER_STEP, STATIONARY, HNPGConfig, step_row_tables
from core import replay
from core.datasets import load_dataset
from core.loops.on_policy import evaluate_policy, init_carry, iteration, make_collector
from core.validation import ConfigError
from scripts import collect, train
from tests.agents.test_h2o_cli import random_dataset
from tests.scripts.test_train_cli import _final_params

HORIZON = 3
LOCK = f"jax:CombinationLock-v0?horizon={HORIZON}"
ITERATIONS, ENVS, EVAL_EPISODES, WINDOW = 20, 100, 30, 5  # 300 online samples per iteration, 6000 at most


def lock_dataset(out_dir, episodes: int) -> str:
    summary = collect.main(["--env", LOCK, "--lock-episodes", str(episodes), "--format", "d4rl", "--out-dir",
                            str(out_dir), "--no-progress"])
    return f"d4rl:{summary['datasets']['eps-greedy']['d4rl']}"


@pytest.fixture(scope="module")
def lock_data(tmp_path_factory) -> str:
    return lock_dataset(tmp_path_factory.mktemp("lock"), 200)


def success_curve(env, config: HNPGConfig, static: dict) -> np.ndarray:
    """Stochastic-policy success rate after each of ITERATIONS iterations, all in one compiled scan."""
    agent = HNPG(config, env.spec)
    wrapped = agent.wrap_env(env)
    collector = make_collector(agent, wrapped)

    def curve(carry, static, key):
        def one(carry, eval_key):
            carry, _ = iteration(agent, collector, carry, None, static)
            returns = evaluate_policy(agent, env, agent.policy_params(carry.agent), eval_key, EVAL_EPISODES, False)
            return carry, jnp.mean(returns >= 1.0 - 1e-6)

        return jax.lax.scan(one, carry, jax.random.split(key, ITERATIONS))[1]

    carry = init_carry(agent, collector, wrapped.spec, jax.random.PRNGKey(1), static)
    return np.asarray(jax.jit(curve)(carry, static, jax.random.PRNGKey(2)))


def samples_to_success(rates: np.ndarray) -> int | None:
    """Online samples until the moving average of the success rate first exceeds 0.5 (None: never)."""
    averages = np.convolve(rates, np.ones(WINDOW) / WINDOW, mode="valid")
    above = np.flatnonzero(averages > 0.5)
    return None if not len(above) else int(above[0] + WINDOW) * ENVS * HORIZON


def test_offline_data_opens_the_lock_in_fewer_online_samples(lock_data):
    env = envs.make(LOCK)
    dataset = {"dataset": replay.from_arrays(load_dataset(lock_data, env.spec).transitions)}
    # A larger trust region than the default 0.01 keeps the run short; both agents get the same one.
    config = HNPGConfig(num_envs=ENVS, num_steps=HORIZON, max_kl=0.05)
    hybrid = success_curve(env, config, dataset)
    baseline = success_curve(env, HNPGConfig(num_envs=ENVS, num_steps=HORIZON, max_kl=0.05, hybrid=False), {})
    with_data, without = samples_to_success(hybrid), samples_to_success(baseline)
    assert with_data is not None, hybrid
    assert without is None or with_data < without, (hybrid, baseline)
    assert hybrid[-WINDOW:].mean() > baseline[-WINDOW:].mean() + 0.3, (hybrid, baseline)


def test_per_step_tables_group_dataset_rows_by_their_step():
    first = np.array([1, 0, 0, 1, 0, 0, 1, 0, 0, 0], bool)  # episodes of 3, 3 and 4 rows (the 4th is past H=3)
    rows, counts = step_row_tables(first, 3, min_width=5)
    assert counts.tolist() == [3, 3, 3] and rows.shape == (3, 5)
    assert rows[0, :3].tolist() == [0, 3, 6] and rows[2, :3].tolist() == [2, 5, 8]


def test_modes_follow_the_env_and_bad_mixes_fail_in_one_line():
    lock5, pendulum = envs.make("jax:CombinationLock-v0?horizon=5").spec, envs.make("jax:Pendulum-v1").spec
    agent = HNPG(HNPGConfig(), lock5)  # the defaults work on the lock: 1000 steps are whole episodes of 5
    assert (agent.mode, agent.horizon, agent.config.critic_steps, agent.config.clip_actions) == (PER_STEP, 5, 30, False)
    agent = HNPG(HNPGConfig(hybrid=False), pendulum)
    assert (agent.mode, agent.config.critic_steps, agent.config.clip_actions) == (STATIONARY, 100, True)
    assert not agent.uses_static_data and HNPG(HNPGConfig(), pendulum).uses_static_data
    assert HNPG(HNPGConfig(horizon=50, num_steps=200), pendulum).mode == PER_STEP, "--horizon selects per_step"
    with pytest.raises(ConfigError, match="--num-steps 1000 must be a multiple of the horizon 3"):
        HNPG(HNPGConfig(), envs.make(LOCK).spec)
    with pytest.raises(ConfigError, match="--horizon sets per_step mode's horizon"):
        HNPG(HNPGConfig(mode="stationary", horizon=5), pendulum)
    with pytest.raises(ConfigError, match="needs a flat Box action space"):
        HNPG(HNPGConfig(), envs.make("jax:CartPole-v1").spec)


TINY = ["--critic-hidden", "16", "16", "--policy-hidden", "8", "--no-progress"]


def test_hnpg_on_the_lock_end_to_end_with_the_generated_dataset(tmp_path, lock_data):
    run_dir = tmp_path / "run"
    summary = train.main(["--agent", "hnpg", "--env", LOCK, "--dataset", lock_data, "--num-envs", "10",
                          "--num-steps", "3", "--total-steps", "60", "--log-every", "30", "--eval-every", "30",
                          "--eval-episodes", "10", "--no-eval-deterministic", "--run-dir", str(run_dir), *TINY])
    assert 0.0 <= summary["success_rate"] <= 1.0
    last = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()][-1]
    assert last["misaligned_steps"] == 0, "rollouts hold whole episodes, step h at row h"
    assert last["offline_rows"] == 10, "min(|D_h|, N_on / H) offline rows per step"
    for name in ("critic_loss", "kl", "accepted"):
        assert np.isfinite(last[name]), name


def test_hnpg_stationary_on_pendulum_with_a_d4rl_file(tmp_path):
    dataset = random_dataset(tmp_path / "pendulum.hdf5", 3, 1, 400)
    summary = train.main(["--agent", "hnpg", "--env", "jax:Pendulum-v1", "--dataset", dataset, "--num-envs", "2",
                          "--num-steps", "50", "--critic-steps", "5", "--critic-batch", "32", "--total-steps", "200",
                          "--log-every", "100", "--eval-every", "0", "--eval-episodes", "1",
                          "--run-dir", str(tmp_path / "run"), *TINY])
    assert np.isfinite(summary["mean_return"]) and "success_rate" not in summary


def test_an_interrupted_hnpg_run_resumes_exactly(tmp_path, lock_data):
    args = ["--agent", "hnpg", "--env", LOCK, "--dataset", lock_data, "--num-envs", "10", "--num-steps", "3",
            "--total-steps", "120", "--log-every", "30", "--eval-every", "60", "--eval-episodes", "5",
            "--no-eval-deterministic", "--seed", "3", *TINY]
    whole = train.main([*args, "--run-dir", str(tmp_path / "whole")])
    assert train.main([*args, "--run-dir", str(tmp_path / "parts"), "--stop-after", "60"]) == {}
    parts = train.main([*args, "--run-dir", str(tmp_path / "parts")])
    assert parts == whole
    (step_a, state_a), (step_b, state_b) = _final_params(tmp_path / "whole"), _final_params(tmp_path / "parts")
    assert step_a == step_b == 120
    for a, b in zip(jax.tree.leaves(state_a["agent"]), jax.tree.leaves(state_b["agent"]), strict=True):
        np.testing.assert_array_equal(a, b)


def test_hybrid_hnpg_needs_a_dataset_and_no_hybrid_refuses_one(tmp_path, lock_data):
    with pytest.raises(ConfigError, match="--agent hnpg trains from offline data: give --dataset"):
        train.main(["--agent", "hnpg", "--env", LOCK, "--num-steps", "3", "--run-dir", str(tmp_path / "a"), *TINY])
    with pytest.raises(ConfigError, match="does not train from a dataset"):
        train.main(["--agent", "hnpg", "--no-hybrid", "--env", LOCK, "--num-steps", "3", "--dataset", lock_data,
                    "--run-dir", str(tmp_path / "b"), *TINY])


def test_per_step_actions_reach_the_env_raw_and_unclipped():
    from core.actions import to_env_action
    from envs.wrappers.raw_actions import RawActions

    lock = envs.make(LOCK)
    wrapped = HNPG(HNPGConfig(num_steps=3), lock.spec).wrap_env(lock)
    assert isinstance(wrapped, RawActions) and np.all(np.isinf(wrapped.action_space.low))
    action = jnp.array([10.0, -3.0] + [0.5] * 8)
    np.testing.assert_array_equal(np.asarray(to_env_action(wrapped.action_space, action)), np.asarray(action))
    clipped = np.asarray(to_env_action(lock.action_space, action))  # the lock's own [0, 1] box still clips
    assert clipped.max() == 1.0 and clipped.min() == 0.0
    assert HNPG(HNPGConfig(hybrid=False), envs.make("jax:Pendulum-v1").spec).wrap_env(lock) is lock
