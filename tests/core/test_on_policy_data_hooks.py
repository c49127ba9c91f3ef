"""The on-policy loop's static-data hooks: an agent with `uses_static_data` gets its learner from
`init_with_data` and every update through `update_with_data`, with the sources as an argument of the compiled
chunk (on JAX and host envs), never in the carry; an agent without it (PPO) still refuses a --dataset."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from agents.ppo import PPO, PPOConfig
from core import replay
from core.loops.on_policy import OnPolicyLoop
from core.validation import ConfigError

CONFIG = PPOConfig(num_envs=2, num_steps=8, update_epochs=1, num_minibatches=1, hidden=(8,))


class DataReadingPPO(PPO):
    """PPO that counts its dataset's rows into its update counter at init and reports the data's sum per update."""

    uses_static_data = True

    def init_with_data(self, key, static):
        return self.init(key).replace(updates=jnp.asarray(1000 * int(static["data"].size), jnp.int32))

    def update_with_data(self, state, rollout, memory, static, key):
        state, metrics = self.update(state, rollout, memory, key)
        return state, {**metrics, "static_sum": jnp.sum(static["data"].data["x"])}


def data(value: float):
    return {"data": replay.from_arrays({"x": jnp.full((5, 2), value)})}


@pytest.mark.parametrize("env_name", ["jax:CartPole-v1", "gym:CartPole-v1"])
def test_the_loop_hands_the_static_data_to_the_agent(env_name):
    env = envs.make(env_name)
    loop = OnPolicyLoop(DataReadingPPO(CONFIG, env.spec), env, chunk_steps=16, seed=0, static_data=data(1.5))
    carry = loop.init_carry(jax.random.PRNGKey(0))
    assert int(carry.agent.updates) == 5000, "init_with_data saw the 5 rows"
    assert not any(np.shape(leaf) == (5, 2) for leaf in jax.tree.leaves(carry)), "the data stays out of the carry"
    carry, metrics = loop.advance(carry)
    assert float(metrics["static_sum"]) == 15.0
    if loop.is_jax:  # an argument, not a constant: new values, same compiled chunk
        loop.static = data(2.0)
        carry, metrics = loop.advance(carry)
        assert float(metrics["static_sum"]) == 20.0 and loop.trace_count == 1
    loop.close()


def test_ppo_still_refuses_static_data():
    env = envs.make("jax:CartPole-v1")
    with pytest.raises(ConfigError, match="takes no static data"):
        OnPolicyLoop(PPO(CONFIG, env.spec), env, chunk_steps=16, seed=0, static_data=data(1.0))
