"""METRA's update (agents/metra.py) on hand-made batches: the dual variable rises while the temporal-distance
constraint is violated and falls while it holds, the reward is computed from the updated phi, discrete skills
are centred in the reward but plain one-hot at the actor and critics, and a skill is drawn once per episode."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents.metra import METRA, METRAConfig, env_preset
from core.transitions import Transition
from core.validation import ConfigError

TINY = {"hidden": (16, 16), "batch_size": 32, "learning_starts": 0, "buffer_size": 64}


def batch(obs, next_obs, skill) -> Transition:
    n = obs.shape[0]
    return Transition(obs, jnp.zeros((n, 2)), jnp.zeros(n), next_obs, jnp.zeros(n, bool), jnp.zeros(n, bool),
                      jnp.zeros(n, bool), {"skill": skill})


@pytest.fixture(scope="module")
def continuous():
    agent = METRA(METRAConfig(**TINY), envs.make("jax:PointPlane-v0").spec)
    return agent, jax.jit(agent.init)(jax.random.key(0)), jax.jit(agent.update)


def random_batch(agent, key, step_scale: float) -> Transition:
    obs_key, move_key, skill_key = jax.random.split(key, 3)
    obs = 5 * jax.random.normal(obs_key, (32, 2))
    return batch(obs, obs + step_scale * jax.random.normal(move_key, (32, 2)), agent.sample_skills(skill_key, 32))


def test_the_dual_variable_rises_while_the_constraint_is_violated_and_falls_while_it_holds(continuous):
    agent, state, update = continuous
    # phi's output scaled up 100x: adjacent states far apart in phi, far past the bound of one.
    far = jax.tree.map(lambda x: x, state)
    far = far.replace(phi={**far.phi, "net": jax.tree.map(lambda x: 100.0 * x, far.phi["net"])})
    violated = random_batch(agent, jax.random.key(1), 1.0)
    after, info = update(far, violated, jax.random.key(2))
    assert float(info["slack"]) < 0 and float(info["phi_dist"]) > 1
    assert float(after.log_dual) > float(far.log_dual), "lambda must rise while mean c < 0"
    held = batch(violated.obs, violated.obs, violated["skill"])  # no move: phi distance 0, slack eps
    after, info = update(state, held, jax.random.key(3))
    assert float(info["slack"]) == pytest.approx(agent.config.dual_slack)
    assert float(after.log_dual) < float(state.log_dual)


def test_the_reward_is_computed_from_the_updated_phi(continuous):
    agent, state, update = continuous
    data = random_batch(agent, jax.random.key(4), 1.0)
    after, info = update(state, data, jax.random.key(5))
    new = float(agent.intrinsic_reward(after.phi, data).mean())
    old = float(agent.intrinsic_reward(state.phi, data).mean())
    assert float(info["intrinsic_reward"]) == pytest.approx(new, rel=1e-5, abs=1e-7)
    assert abs(new - old) > 1e-4, "the step moved phi, so the two rewards differ"
    assert int(after.updates) == 1 and all(np.isfinite(float(v)) for v in info.values())


def test_discrete_skills_are_centred_in_the_reward_and_one_hot_at_the_actor():
    agent = METRA(METRAConfig(**TINY, discrete_skills=True, skill_dim=4), envs.make("jax:PointPlane-v0").spec)
    skill = jax.nn.one_hot(jnp.array([1, 3]), 4)
    obs = jnp.array([[0.0, 0.0], [1.0, 2.0]])
    data = batch(obs, obs + 0.5, skill)

    @jax.jit
    def seen(key):  # one compiled call: what the reward and the learner see of these skills
        state = agent.init(key)
        delta = agent.phi(state.phi, data.next_obs) - agent.phi(state.phi, data.obs)
        acted = agent.act_with_carry(state, agent.initial_carry(2), obs, jnp.ones(2, bool), key)[2]["skill"]
        return (agent.reward_skills(skill), delta, agent.intrinsic_reward(state.phi, data),
                agent.learner_batch(state.phi, data), acted)

    centred, delta, reward, learner, acted = seen(jax.random.key(0))
    np.testing.assert_allclose(centred[0], [-1 / 3, 1, -1 / 3, -1 / 3], rtol=1e-6)
    np.testing.assert_allclose(reward, (delta * (skill - 0.25) * 4 / 3).sum(-1), rtol=1e-5)
    np.testing.assert_array_equal(learner.obs, jnp.concatenate([obs, skill], axis=1))
    np.testing.assert_array_equal(learner.next_obs[:, 2:], skill)
    np.testing.assert_allclose(learner.reward, reward, rtol=1e-6)
    assert set(np.asarray(acted).sum(axis=1)) == {1.0} and set(np.unique(acted)) == {0.0, 1.0}


def test_a_skill_is_drawn_where_an_episode_starts_and_kept_elsewhere(continuous):
    agent, state, _ = continuous
    obs = jnp.zeros((3, 2))
    act = jax.jit(agent.act_with_carry)
    carry = np.asarray(act(state, agent.initial_carry(3), obs, jnp.ones(3, bool), jax.random.key(6))[0])
    np.testing.assert_allclose(np.linalg.norm(carry, axis=1), 1.0, rtol=1e-5)  # unit-length METRA skills
    kept, _, extras = act(state, jnp.asarray(carry), obs, jnp.array([False, True, False]), jax.random.key(7))
    kept = np.asarray(kept)
    np.testing.assert_array_equal(kept[[0, 2]], carry[[0, 2]])
    assert not np.allclose(kept[1], carry[1])
    np.testing.assert_array_equal(extras["skill"], kept)


def test_presets_keep_the_position_and_bad_options_are_refused():
    assert env_preset("gym:Ant-v5")["exclude_current_positions_from_observation"] is False
    assert env_preset("brax:ant?episode_length=100") == {"exclude_current_positions_from_observation": False,
                                                        "terminate_when_unhealthy": False, "max_abs_obs": 1000.0}
    assert env_preset("jax:Pendulum-v1") == {}
    spec = envs.make("jax:PointPlane-v0").spec
    with pytest.raises(ConfigError, match="--coverage-dims 0 5 index past the 2 observation entries"):
        METRA(METRAConfig(**TINY, coverage_dims=(0, 5)), spec)
    with pytest.raises(ConfigError, match="--skill-dim must be at least 2 with --discrete-skills"):
        METRA(METRAConfig(**TINY, discrete_skills=True, skill_dim=1), spec)
