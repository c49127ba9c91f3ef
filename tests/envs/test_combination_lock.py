"""The continuous combination lock (Zhou et al. 2023, arXiv 2311.08384) and its epsilon-greedy offline data."""

import functools
import math
import re
import subprocess
import sys
from pathlib import Path

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.classic.combination_lock import CombinationLock, LockOptionError, epsilon_greedy_episodes

REPO = Path(__file__).resolve().parents[2]


def run_episodes(env, policy, episodes: int, steps: int, seed: int = 0):
    """`steps` steps of `episodes` vmapped envs under `policy(env_state, key) -> action`, as stacked timesteps
    [steps, episodes] plus the latent each step acted in."""

    @jax.jit
    def run(key):
        reset_key, steps_key = jax.random.split(key)
        state, _ = jax.vmap(env.reset)(jax.random.split(reset_key, episodes))

        def one(state, key):
            act_keys, step_keys = jnp.split(jax.random.split(key, 2 * episodes), 2)
            action = jax.vmap(policy)(state, act_keys)
            next_state, timestep = jax.vmap(env.step)(state, action, step_keys)
            return next_state, (timestep, state.inner.latent)

        return jax.lax.scan(one, state, jax.random.split(steps_key, steps))[1]

    return run(jax.random.key(seed))


@functools.cache
def uniform_steps():
    """12 steps of 8 noiseless H = 4 locks under uniform [0, 1]^10 actions: 3 whole episodes each (one compile for
    the tests that read them)."""
    env = CombinationLock(horizon=4, noise=0.0)
    return env, run_episodes(env, lambda state, key: jax.random.uniform(key, (10,)), episodes=8, steps=12)[0]


def opened(rewards: np.ndarray) -> np.ndarray:
    """Per episode of rows [episodes * H] (or [episodes, H]): did its last step pay the lock's 1?"""
    return np.asarray(rewards).reshape(len(rewards), -1)[:, -1] == 1.0


# --- making it, and gymnasium's view -----------------------------------------------------------------------------


def test_env_string_and_gymnasium_id_build_the_lock_with_its_options():
    env = envs.make("jax:CombinationLock-v0?horizon=20&lock_seed=3")
    assert isinstance(env, CombinationLock) and (env.horizon, env.lock_seed) == (20, 3)
    assert env.spec.max_episode_steps == 20 and env.observation_dim == 32  # 2**ceil(log2(24))
    assert env.spec.action_space == envs.Box.uniform(0.0, 1.0, (10,))
    assert envs.make("jax:CombinationLock?obs_dim=64&horizon=20").observation_dim == 64
    assert gymnasium.make("hsrl/CombinationLock-v0", horizon=20).unwrapped.env == CombinationLock(horizon=20)


# The checker's advice about unbounded observations is about the Box the port declares on purpose.
@pytest.mark.filterwarnings("ignore:.*infinity:UserWarning")
def test_gymnasium_env_checker_passes():
    env = gymnasium.make("hsrl/CombinationLock-v0", horizon=5)
    assert isinstance(env.unwrapped, envs.JaxToGymnasium)
    check_env(env.unwrapped, skip_render_check=True)


def test_gymnasium_episodes_longer_than_the_default_horizon_are_not_cut():
    env = gymnasium.make("hsrl/CombinationLock-v0", horizon=60)  # the default horizon is 50
    env.reset(seed=0)
    for step in range(60):
        obs, _, terminated, truncated, _ = env.step(np.zeros(10, np.float32))
        assert not truncated and terminated == (step == 59)
    assert obs.shape == (64,) and obs.dtype == np.float32


# --- the dynamics ------------------------------------------------------------------------------------------------


def test_every_episode_lasts_exactly_h_steps_and_terminates():
    env, steps = uniform_steps()
    ends = np.zeros((12, 8), bool)
    ends[3::4] = True
    np.testing.assert_array_equal(steps.terminated, ends)
    assert not np.asarray(steps.truncated).any()
    np.testing.assert_array_equal(np.asarray(steps.info["episode_length"])[ends], 4)
    # info["timestep"] is the h of final_obs: t+1 after an episode's t-th step, H on its last.
    np.testing.assert_array_equal(steps.info["timestep"][:, 0], [1, 2, 3, 4] * 3)
    assert int(env.reset(jax.random.key(0))[1].info["timestep"]) == 0


def test_correct_one_hot_actions_open_the_lock_and_the_greedy_behaviour_almost_always():
    env = CombinationLock(horizon=20)
    # 10 e_k, sent straight to step (no clipping): a wrong dial has probability ~9 e^-100 per step.
    optimal = lambda state, key: 10.0 * jax.nn.one_hot(env.correct_index(state.inner), 10)
    steps, latent = run_episodes(env, optimal, episodes=64, steps=20)
    assert not np.any(np.asarray(latent) == 2)
    np.testing.assert_array_equal(steps.reward[-1], 1.0)
    assert float(np.sum(steps.reward)) == 64.0  # nothing but the final 1
    # The behaviour's epsilon = 0 action is the one-hot e_k itself: 0.99959 per step, 0.992 over 20 steps.
    greedy = epsilon_greedy_episodes(env, jax.random.key(1), 1000, epsilon=0.0)
    assert 0.97 <= opened(greedy["rewards"].reshape(1000, 20)).mean() < 1.0
    np.testing.assert_array_equal(greedy["actions"].max(axis=1), 1.0)


def test_a_one_hot_picks_its_index_with_probability_e10_over_e10_plus_9():
    episodes = 20_000
    expected = math.exp(10) / (math.exp(10) + 9)
    assert expected == pytest.approx(0.9996, abs=5e-5)
    single = epsilon_greedy_episodes(CombinationLock(horizon=1), jax.random.key(2), episodes, epsilon=0.0)
    failures = int(np.sum(~opened(single["rewards"].reshape(episodes, 1))))
    assert 1 <= failures <= 25  # expected 8.2 (a temperature of 1 would fail ~12,000 times)


def test_random_actions_essentially_never_open_a_long_lock_and_one_in_a_hundred_of_a_two_dial_one():
    long = epsilon_greedy_episodes(CombinationLock(horizon=20), jax.random.key(3), 2000, epsilon=1.0)
    returns = long["rewards"].reshape(2000, 20).sum(axis=1)
    assert not opened(long["rewards"].reshape(2000, 20)).any()
    assert returns.mean() == pytest.approx(0.05, abs=0.015)  # the decoy: 0.1 with probability 1/2
    short = epsilon_greedy_episodes(CombinationLock(horizon=2), jax.random.key(4), 20_000, epsilon=1.0)
    assert opened(short["rewards"].reshape(20_000, 2)).mean() == pytest.approx(0.01, abs=0.003)  # 10^-H


def test_intermediate_anti_reward_pays_the_decoy_of_the_fall_as_well():
    paid = epsilon_greedy_episodes(CombinationLock(horizon=20, intermediate_anti_reward=True), jax.random.key(3),
                                   2000, epsilon=1.0)
    rewards = paid["rewards"].reshape(2000, 20)
    assert rewards.sum(axis=1).mean() == pytest.approx(0.1, abs=0.02)  # the fall's decoy and the last step's
    assert rewards[:, :-1].sum() > 0


def test_observations_are_hadamard_rotated_one_hots_of_latent_and_step():
    env, steps = uniform_steps()
    d = env.observation_dim
    np.testing.assert_array_equal(env.hadamard @ env.hadamard.T, d * np.eye(d))
    assert set(np.unique(env.hadamard)) == {-1.0, 1.0}
    obs = np.asarray(steps.info["final_obs"])  # after an episode's step t: h = t + 1
    decoded = obs @ env.hadamard / d
    h = np.tile(np.arange(1, 5), 3)[:, None]
    np.testing.assert_array_equal(decoded[..., 3:].argmax(-1), np.broadcast_to(h, (12, 8)))
    np.testing.assert_allclose(decoded[..., :3].sum(-1), 1.0)  # one latent
    np.testing.assert_allclose(decoded.sum(-1), 2.0)  # and one step, nothing else
    assert set(np.unique(obs)) <= {-2.0, 0.0, 2.0}

    noisy = CombinationLock(horizon=6, noise=0.1)
    state, timestep = jax.vmap(noisy.reset)(jax.random.split(jax.random.key(5), 64))
    decoded = np.asarray(timestep.obs) @ noisy.hadamard / noisy.observation_dim
    clean = np.zeros_like(decoded)
    clean[np.arange(64), np.asarray(state.inner.latent)] = 1.0
    clean[:, 3] += 1.0
    assert 0.02 < np.abs(decoded - clean).max() < 0.6  # noise of std 0.1, on the first H+3 entries only
    np.testing.assert_allclose(decoded[:, 6 + 3:], 0.0, atol=1e-6)


def test_the_lock_seed_fixes_the_combination():
    same = CombinationLock(horizon=30, lock_seed=7), envs.make("jax:CombinationLock-v0?horizon=30&lock_seed=7")
    np.testing.assert_array_equal(same[0].opt_a, same[1].opt_a)
    np.testing.assert_array_equal(same[0].opt_b, same[1].opt_b)
    other = CombinationLock(horizon=30, lock_seed=8)
    assert not np.array_equal(same[0].opt_a, other.opt_a) and not np.array_equal(same[0].opt_b, other.opt_b)
    assert same[0].opt_a.shape == (30,) and 0 <= same[0].opt_a.min() and same[0].opt_a.max() < 10


@pytest.mark.parametrize(("options", "words"), [
    ("horizon=0", "horizon must be an integer >= 1"),
    ("horizon=20&obs_dim=48", "obs_dim must be a power of two >= horizon + 4 = 24"),
    ("horizon=20&obs_dim=16", "obs_dim must be a power of two"),
    ("horizon=5&obs_dim=8", "obs_dim must be a power of two >= horizon + 4 = 9"),
    ("temperature=0", "temperature must be a finite number > 0"),
    ("switch_prob=1.5", "switch_prob must be a probability"),
    ("action_dim=0", "action_dim must be an integer >= 1"),
])
def test_bad_options_are_one_line_errors(options, words):
    with pytest.raises(LockOptionError, match=re.escape(words)) as error:
        envs.make(f"jax:CombinationLock-v0?{options}")
    assert "\n" not in str(error.value) and isinstance(error.value, ValueError)


# --- the offline data --------------------------------------------------------------------------------------------


def test_epsilon_greedy_episodes_open_about_forty_percent_of_locks_in_episode_order():
    env = CombinationLock(horizon=20)
    data = epsilon_greedy_episodes(env, jax.random.key(0), 2000)  # epsilon = 1/H
    assert {name: array.shape[0] for name, array in data.items()} == dict.fromkeys(
        ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts"), 40_000)
    np.testing.assert_array_equal(np.flatnonzero(data["terminals"]), np.arange(19, 40_000, 20))
    assert not data["timeouts"].any()
    assert 0.3 <= opened(data["rewards"].reshape(2000, 20)).mean() <= 0.5
    # Row n is step n mod H: the step's one-hot decodes from the observation.
    steps = (data["observations"] @ env.hadamard / env.observation_dim)[:, 3:].argmax(-1)
    np.testing.assert_array_equal(steps, np.tile(np.arange(20), 2000))
    np.testing.assert_array_equal(data["next_observations"][:-1][~data["terminals"][:-1]],
                                  data["observations"][1:][~data["terminals"][:-1]])
    assert data["actions"].min() >= 0.0 and data["actions"].max() <= 1.0


def test_collect_writes_the_lock_dataset_that_load_dataset_reads(tmp_path):
    from core.datasets import load_dataset
    from scripts import collect

    env_string = "jax:CombinationLock-v0?horizon=20"
    summary = collect.main(["--env", env_string, "--lock-episodes", "1000", "--out-dir", str(tmp_path),
                            "--no-progress", "--seed", "1"])
    written = summary["datasets"]["eps-greedy"]
    path = tmp_path / "jax-CombinationLock-v0-horizon-20_eps_greedy-local-v0.hdf5"
    assert written["d4rl"] == str(path) and (written["rows"], written["episodes"]) == (20_000, 1000)
    spec = envs.make(env_string).spec
    dataset, from_minari = load_dataset(f"d4rl:{path}", spec), load_dataset(written["minari"], spec)
    rows = dataset.transitions
    assert rows.num_rows == 20_000
    np.testing.assert_array_equal(rows.obs, from_minari.transitions.obs)
    np.testing.assert_array_equal(np.flatnonzero(rows.first), np.arange(0, 20_000, 20))
    np.testing.assert_array_equal(np.flatnonzero(rows.terminated), np.arange(19, 20_000, 20))
    assert 0.3 <= opened(rows.reward.reshape(1000, 20)).mean() <= 0.5
    assert 0.3 <= dataset.metadata["success_fraction"] <= 0.5
    metadata = dataset.metadata
    assert metadata["dataset_kind"] == "eps-greedy" and metadata["epsilon"] == pytest.approx(0.05)
    assert dataset.ref_max_score == 1.0 and dataset.ref_min_score == pytest.approx(0.05, abs=0.02)
    np.testing.assert_array_equal(metadata["opt_a"], envs.make(env_string).opt_a)
    # Actions come back in agent units: the behaviour's one-hot e_k (1 - epsilon of the rows) is 2 e_k - 1.
    one_hot = np.all(np.isin(rows.action, [-1.0, 1.0]), axis=1) & (np.sum(rows.action == 1.0, axis=1) == 1)
    assert 0.93 <= one_hot.mean() <= 0.97 and rows.action.min() >= -1.0 and rows.action.max() <= 1.0

    with pytest.raises(ValueError, match="for the combination lock"):
        collect.main(["--env", "jax:Pendulum-v1", "--lock-episodes", "10", "--out-dir", str(tmp_path)])


def test_collect_help_explains_the_lock_options_and_a_non_lock_env_is_one_line():
    done = subprocess.run([sys.executable, "scripts/collect.py", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--lock-episodes" in done.stdout and "--epsilon" in done.stdout and "eps-greedy" in done.stdout
    bad = subprocess.run([sys.executable, "scripts/collect.py", "--env", "jax:CartPole-v1", "--lock-episodes", "5"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "collect: error: --lock-episodes and --epsilon are for the combination lock" in bad.stderr
