"""Dreamer's acting carry is the training scan's posterior: a rollout through the off-policy loop's acting path
(its collector and behaviour function, warm-up random actions, then the policy), turned into the Dreamer layout
and observed by the world model with the step keys acting used, gives at every step t the posterior the carry held
after frame t; with --act-from raw, the actor read HRSSM's raw-branch posterior of the same step. Also: the
lambda-returns against a loop, and one jitted update that changes every part of the learner."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents.dreamer import Dreamer, DreamerConfig, lambda_returns
from core import sequences
from core.loops import off_policy
from core.rollout import JaxCollector

ENV = "pixels:pendulum_swingup?size=16&max_episode_steps=50"
TINY = dict(depth=4, deter=16, stoch=4, classes=4, units=16, batch_size=2, sequence_length=8, horizon=3,
            learning_starts=6, buffer_size=64)
STEPS, NUM_ENVS = 12, 2


class RecordingDreamer(Dreamer):
    """Stores, with each transition, the posterior its carry holds after the frame, the latent it acted from
    and the step key of the latent step (the first of `split(key, 3)`, as `act_with_carry` uses it)."""

    def transition_extras(self):
        c = self.wm_config
        return {"deter": jnp.zeros(c.deter), "stoch": jnp.zeros((c.stoch, c.classes)),
                "log_probs": jnp.zeros((c.stoch, c.classes)), "policy_deter": jnp.zeros(c.deter),
                "policy_log_probs": jnp.zeros((c.stoch, c.classes)), "latent_key": jnp.zeros(2, jnp.uint32)}

    def act_with_carry(self, state, carry, obs, first, key, deterministic=False):
        carry, action, _ = super().act_with_carry(state, carry, obs, first, key, deterministic)
        latent_key = jax.vmap(jax.random.key_data)(jax.random.split(key, 3))[0]
        extras = {"deter": carry.latent.deter, "stoch": carry.latent.stoch, "log_probs": carry.latent.log_probs,
                  "policy_deter": carry.policy_latent.deter, "policy_log_probs": carry.policy_latent.log_probs,
                  "latent_key": jnp.broadcast_to(latent_key, (obs.shape[0], 2))}
        return carry, action, extras


def _rollout(agent, state):
    """STEPS steps of NUM_ENVS envs through the loop's acting path: half before learning_starts, half after."""
    env = agent.wrap_env(envs.make(ENV))
    act = lambda params, carry, obs, first, key: off_policy._behaviour(agent, params, carry, obs, first, key)
    collector = JaxCollector(env, NUM_ENVS, act, agent.initial_carry)
    rollout = jax.jit(collector.rollout, static_argnums=3)
    collected = collector.reset(jax.random.key(1))
    parts = []
    for env_steps, key in ((0, 2), (agent.config.learning_starts, 3)):
        collected, transitions, _ = rollout((state, jnp.asarray(env_steps)), collected, jax.random.PRNGKey(key),
                                            STEPS // 2)
        parts.append(transitions)
    return jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts)


@pytest.mark.parametrize("world_model, act_from", [("rssm", "online"), ("hrssm", "online"), ("hrssm", "raw")])
def test_the_acting_carry_at_step_t_is_the_training_scans_posterior_at_step_t(world_model, act_from):
    agent = RecordingDreamer(DreamerConfig(world_model=world_model, act_from=act_from, **TINY),
                             envs.make(ENV).spec)
    state = agent.init(jax.random.key(0))
    if act_from == "raw":  # a fresh EMA equals the online branch; move it, so the two are told apart
        ema = jax.tree.map(lambda x: x * 1.5, state.world.ema)
        state = state.replace(world=state.world.replace(ema=ema))
    transitions = _rollout(agent, state)
    assert not bool(transitions.first[1:].any()), "one episode per env: sequence step t is transition t"
    warm, policy = transitions.action[:STEPS // 2], transitions.action[STEPS // 2:]
    assert float(jnp.abs(warm).max()) > 0.3 and float(jnp.abs(policy).max()) <= 1.0

    batch = jax.jit(sequences.to_dreamer_layout)(transitions)
    step_keys = transitions.extras["latent_key"][:, 0]  # [T, 2]: one key per step, shared by the envs
    posts, _ = jax.jit(agent.model.observe)(state.world.params, batch, step_keys)
    extras = transitions.extras
    np.testing.assert_allclose(posts.deter, extras["deter"], atol=1e-5)
    np.testing.assert_allclose(posts.log_probs, extras["log_probs"], atol=1e-5)
    # the same sampled classes (straight-through one-hots, equal up to rounding)
    np.testing.assert_allclose(posts.stoch, extras["stoch"], atol=1e-6)
    if act_from == "raw":
        raw, _ = jax.jit(agent.model.raw_branch)(state.world.ema, posts.deter, batch, jax.random.key(9))
        expected = raw.log_probs
    else:
        expected = posts.log_probs
    np.testing.assert_allclose(extras["policy_deter"], posts.deter, atol=1e-5)
    np.testing.assert_allclose(extras["policy_log_probs"], expected, atol=1e-5)
    if act_from == "raw":
        assert float(jnp.abs(transitions.extras["policy_log_probs"] - transitions.extras["log_probs"]).max()) > 0


def test_lambda_returns_follow_their_recursion():
    h, n = 4, 3
    keys = jax.random.split(jax.random.key(0), 3)
    reward, cont = jax.random.normal(keys[0], (h, n)), jax.random.uniform(keys[1], (h, n))
    value = jax.random.normal(keys[2], (h + 1, n))
    expected, following = np.zeros((h, n)), np.asarray(value[-1])
    for k in reversed(range(h)):
        following = reward[k] + 0.9 * cont[k] * (0.2 * value[k + 1] + 0.8 * following)
        expected[k] = following
    np.testing.assert_allclose(lambda_returns(reward, cont, value, 0.9, 0.8), expected, rtol=1e-5)
