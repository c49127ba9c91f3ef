"""SAC's update, split into critic, actor, temperature and target steps, is bit-identical to the single function
it was before the split (kept here as the reference), and a variant can replace one step."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import envs
from agents.sac import SAC, SACConfig
from core.transitions import Transition


def monolithic_update(agent: SAC, state, batch, key):
    """SAC's update as one function, as it was written before the split."""
    critic_key, actor_key = jax.random.split(key)
    critic_grads, critic_info = jax.grad(agent.critic_loss, has_aux=True)(state.critic, state, batch, critic_key)
    critic_updates, critic_opt = agent.critic_tx.update(critic_grads, state.critic_opt)
    critic = optax.apply_updates(state.critic, critic_updates)
    state = state.replace(critic=critic, critic_opt=critic_opt)
    actor_grads, actor_info = jax.grad(agent.actor_loss, has_aux=True)(state.actor, state, batch, actor_key)
    actor_updates, actor_opt = agent.actor_tx.update(actor_grads, state.actor_opt)
    actor = optax.apply_updates(state.actor, actor_updates)
    alpha_grad = jax.grad(agent.alpha_loss)(state.log_alpha, actor_info["entropy"])
    alpha_updates, alpha_opt = agent.alpha_tx.update(alpha_grad, state.alpha_opt)
    log_alpha = optax.apply_updates(state.log_alpha, alpha_updates)
    target = optax.incremental_update(critic, state.target_critic, agent.config.tau)
    state = state.replace(actor=actor, actor_opt=actor_opt, log_alpha=log_alpha, alpha_opt=alpha_opt,
                          target_critic=target, updates=state.updates + 1)
    return state, {**critic_info, **actor_info, "alpha": jnp.exp(log_alpha)}


def random_batch(key, size: int, obs_dim: int, action_dim: int) -> Transition:
    keys = jax.random.split(key, 4)
    obs = jax.random.normal(keys[0], (size, obs_dim))
    return Transition(obs, jax.random.uniform(keys[1], (size, action_dim), minval=-1, maxval=1),
                      jax.random.normal(keys[2], (size,)), obs[::-1], jax.random.bernoulli(keys[3], 0.1, (size,)),
                      jnp.zeros(size, bool), jnp.zeros(size, bool))


def test_split_update_is_bit_identical_to_the_single_function():
    env = envs.make("jax:Pendulum-v1")
    agent = SAC(SACConfig(hidden=(32, 32)), env.spec)
    split, whole = agent.init(jax.random.PRNGKey(0)), agent.init(jax.random.PRNGKey(0))
    split_step, whole_step = jax.jit(agent.update), jax.jit(lambda s, b, k: monolithic_update(agent, s, b, k))
    for i in range(5):
        batch = random_batch(jax.random.PRNGKey(100 + i), 64, agent.obs_dim, agent.action_dim)
        split, split_metrics = split_step(split, batch, jax.random.PRNGKey(i))
        whole, whole_metrics = whole_step(whole, batch, jax.random.PRNGKey(i))
    for a, b in zip(jax.tree.leaves(split), jax.tree.leaves(whole)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert set(split_metrics) == set(whole_metrics)
    for name in split_metrics:
        np.testing.assert_array_equal(np.asarray(split_metrics[name]), np.asarray(whole_metrics[name]))


class FrozenTemperatureSAC(SAC):
    """A variant that replaces one step: the temperature stays where it started."""

    def temperature_step(self, state, entropy):
        return state, {"alpha": jnp.exp(state.log_alpha)}


def test_a_variant_replaces_one_step():
    env = envs.make("jax:Pendulum-v1")
    agent = FrozenTemperatureSAC(SACConfig(hidden=(16,), init_alpha=0.5), env.spec)
    state = agent.init(jax.random.PRNGKey(0))
    batch = random_batch(jax.random.PRNGKey(1), 32, agent.obs_dim, agent.action_dim)
    new, metrics = jax.jit(agent.update)(state, batch, jax.random.PRNGKey(2))
    assert float(new.log_alpha) == float(state.log_alpha) and float(metrics["alpha"]) == np.float32(0.5)
    assert not np.array_equal(np.asarray(jax.tree.leaves(new.critic)[0]), np.asarray(jax.tree.leaves(state.critic)[0]))
