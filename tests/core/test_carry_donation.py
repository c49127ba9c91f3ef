"""The loops donate their carry to each compiled chunk, so no two leaves of a fresh carry may share a buffer.

Before `distributed.own_buffers`, the meta-projection env's state held its reset state twice (`base_states` and
`starts`) and a one-layer LSTM started h and c from one zeros array; both crashed the first chunk with
"Attempt to donate the same buffer twice".
"""

import collections

import jax
import jax.numpy as jnp
import pytest

import envs
from agents.ppo import PPO, PPOConfig
from agents.sac import SAC, SACConfig
from core.distributed import own_buffers
from core.loops.off_policy import OffPolicyLoop
from core.loops.on_policy import OnPolicyLoop


def shared_buffers(tree) -> list[list[str]]:
    """The leaf paths of each buffer held by more than one leaf."""
    holders = collections.defaultdict(list)
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        for shard in getattr(leaf, "addressable_shards", ()):
            holders[shard.data.unsafe_buffer_pointer()].append(jax.tree_util.keystr(path))
    return [paths for paths in holders.values() if len(paths) > 1]


def ppo_loop(env_name: str, **config) -> OnPolicyLoop:
    env = envs.make(env_name)
    config = PPOConfig(num_envs=2, num_steps=8, num_minibatches=1, hidden=(8,), memory_size=8, **config)
    return OnPolicyLoop(PPO(config, env.spec), env, 16, 0)


def sac_loop(env_name: str) -> OffPolicyLoop:
    env = envs.make(env_name)
    config = SACConfig(num_envs=2, hidden=(8,), batch_size=8, buffer_size=64, learning_starts=8)
    return OffPolicyLoop(SAC(config, env.spec), env, 8, 0)


def test_own_buffers_copies_only_the_later_holders_of_a_buffer():
    zeros, ones = jnp.zeros(3), jnp.ones(2)
    tree = {"a": zeros, "b": zeros, "c": ones, "d": None, "e": 1.5}
    owned = own_buffers(tree)
    assert shared_buffers(owned) == []
    assert owned["a"] is zeros and owned["c"] is ones, "a leaf with a buffer of its own is kept, not copied"
    assert owned["b"] is not zeros and jnp.array_equal(owned["b"], zeros)
    assert owned["d"] is None and owned["e"] == 1.5


LOOPS = {
    "meta-env-ppo": lambda: ppo_loop("pomdp:meta?base=jax:CartPole-v1&trials=2"),
    "lstm-1-layer": lambda: ppo_loop("jax:CartPole-v1", memory="lstm"),
    "meta-env-sac": lambda: sac_loop("pomdp:meta?base=jax:Pendulum-v1&trials=2"),
    "host-env-sac": lambda: sac_loop("gym:Pendulum-v1"),
}


@pytest.mark.parametrize("make_loop", LOOPS.values(), ids=LOOPS.keys())
def test_a_fresh_carry_can_be_donated(make_loop):
    loop = make_loop()
    try:
        carry = loop.init_carry(jax.random.PRNGKey(0))
        assert shared_buffers(carry) == []
        jax.jit(lambda c: c, donate_argnums=0)(carry)  # XLA's own check, as the chunk's call makes it
    finally:
        loop.close()
