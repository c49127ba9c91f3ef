"""Every POPGym family (Easy) runs under jit(vmap(scan)), and a random policy scores what it scores on popgym."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.pomdp import make_popgym

FAMILIES = ["RepeatFirst", "RepeatPrevious", "CountRecall", "Autoencode", "MultiarmedBandit", "HigherLower",
            "Concentration", "MineSweeper", "Battleship", "PositionOnlyCartPole", "NoisyPositionOnlyCartPole",
            "PositionOnlyPendulum", "NoisyPositionOnlyPendulum"]
NUM_ENVS = 48


def random_rollout(env, key, steps):
    """`[steps, NUM_ENVS]` rewards/terminated/truncated/episode returns/lengths and the observations."""

    def body(state, key):
        keys = jax.random.split(key, NUM_ENVS)
        action = jax.vmap(env.action_space.sample)(keys)
        state, ts = jax.vmap(env.step)(state, action, keys)
        return state, (ts.obs, ts.reward, ts.terminated, ts.truncated, ts.info["episode_return"],
                       ts.info["episode_length"])

    reset_key, run_key = jax.random.split(key)
    state, first = jax.vmap(env.reset)(jax.random.split(reset_key, NUM_ENVS))
    _, out = jax.lax.scan(body, state, jax.random.split(run_key, steps))
    return first.obs, out


def popgym_random_returns(name, episodes, seed=0):
    popgym_envs = pytest.importorskip("popgym.envs")
    env = getattr(popgym_envs, name)()
    env.action_space.seed(seed)
    returns, lengths = [], []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        total, length, done = 0.0, 0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total, length = total + reward, length + 1
            done = terminated or truncated or length >= getattr(env, "max_episode_length", 10**9) + 1
        returns.append(total)
        lengths.append(length)
    return np.array(returns), np.array(lengths)


@pytest.mark.parametrize("family", FAMILIES)
def test_jit_vmap_rollout_and_random_returns_match_popgym(family):
    env = make_popgym(family + "Easy")
    steps = env.max_episode_steps + env.max_episode_steps // 2
    first_obs, (obs, _, terminated, truncated, returns, lengths) = jax.jit(
        random_rollout, static_argnums=(0, 2))(env, jax.random.key(0), steps)

    space = env.observation_space
    assert first_obs.shape == (NUM_ENVS, *space.shape) and obs.dtype == jnp.asarray(space.sample(
        jax.random.key(0))).dtype
    assert all(space.contains(o) for o in np.asarray(obs[:, 0]))
    assert not np.any(np.asarray(terminated & truncated))
    done = np.asarray(terminated | truncated)
    ours, our_lengths = np.asarray(returns)[done], np.asarray(lengths)[done]
    assert len(ours) >= NUM_ENVS and np.all(np.abs(ours) <= 1.0 + 1e-5)
    assert np.all(our_lengths <= env.max_episode_steps)
    # Card games end as terminated, control tasks and the bandit as truncated (or terminated when they fail).
    if family in ("RepeatFirst", "RepeatPrevious", "CountRecall", "Autoencode", "HigherLower"):
        assert not np.asarray(truncated).any() and np.all(our_lengths == env.max_episode_steps)

    theirs, their_lengths = popgym_random_returns(family + "Easy", episodes=60)
    for a, b in ((ours, theirs), (our_lengths, their_lengths)):
        tolerance = 4.5 * np.sqrt(a.var() / len(a) + b.var() / len(b)) + 1e-3
        assert abs(a.mean() - b.mean()) <= tolerance, (family, a.mean(), b.mean(), tolerance)
