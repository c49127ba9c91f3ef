"""MOORL's meta-iteration: the degenerate settings (meta step 0 leaves the meta parameters; K = 1 with meta step 1
is SAC's update bit for bit, in test_moorl_is_sac.py), the Reptile bookkeeping (targets follow the meta critic at
tau_K, the temperature is not averaged, Adam's moments persist unless reset) and the buffer choice (the online
replay is never sampled before it holds a batch; p_off is the offline share)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import envs
from agents.moorl import MOORL, MetaBatch, MOORLConfig
from core import replay
from core.protocols import DATASET, Buffers
from core.transitions import Transition

SPEC = envs.make("jax:Pendulum-v1").spec
SMALL = {"hidden": (16, 16), "batch_size": 8}


def rows(count: int, reward: float, seed: int = 0) -> Transition:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(count, 3)).astype(np.float32)
    return Transition(obs, rng.uniform(-1, 1, (count, 1)).astype(np.float32), np.full(count, reward, np.float32),
                      obs + 0.1, np.zeros(count, bool), np.zeros(count, bool), np.zeros(count, bool))


def stacked(batches: list[Transition]) -> Transition:
    return jax.tree.map(lambda *x: jnp.stack(x), *batches)


def bits(tree):
    """Each leaf's raw bytes (so -0.0 and 0.0 differ, as do NaNs of different payloads)."""
    return [np.atleast_1d(np.asarray(leaf)).view(np.uint8) for leaf in jax.tree.leaves(tree)]


def assert_same_bits(a, b):
    for x, y in zip(bits(a), bits(b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_meta_step_zero_leaves_the_meta_parameters():
    moorl = MOORL(MOORLConfig(**SMALL, inner_steps=3, meta_step=0.0), SPEC)
    state = moorl.init(jax.random.key(0))
    new, _ = jax.jit(moorl.update)(state, MetaBatch(stacked([rows(8, 1.0, s) for s in range(3)]), jnp.asarray(True)),
                                   jax.random.key(2))
    assert_same_bits(new.actor, state.actor)
    assert_same_bits(new.critic, state.critic)
    assert float(new.log_alpha) != float(state.log_alpha), "the temperature is not a meta parameter: it moves"
    assert int(new.updates) == 3


def test_targets_follow_the_meta_critic_at_the_compounded_rate():
    config = MOORLConfig(**SMALL, inner_steps=4, meta_step=0.5)
    moorl = MOORL(config, SPEC)
    state = moorl.init(jax.random.key(0))
    state = state.replace(target_critic=jax.tree.map(lambda x: x + 1.0, state.target_critic))  # apart from critic
    new, _ = jax.jit(moorl.update)(state, MetaBatch(stacked([rows(8, 1.0, s) for s in range(4)]), jnp.asarray(True)),
                                   jax.random.key(3))
    tau_k = 1 - (1 - config.tau) ** 4
    expected = optax.incremental_update(new.critic, state.target_critic, tau_k)
    for a, b in zip(jax.tree.leaves(new.target_critic), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    moved = [float(jnp.abs(a - b).max()) for a, b in zip(jax.tree.leaves(new.critic), jax.tree.leaves(state.critic),
                                                         strict=True)]
    assert max(moved) > 0, "with meta step 0.5 the meta critic moves"


@pytest.mark.parametrize("reset", [False, True])
def test_adam_moments_persist_unless_reset(reset):
    moorl = MOORL(MOORLConfig(**SMALL, inner_steps=2, reset_inner_opt=reset), SPEC)
    state = moorl.init(jax.random.key(0))
    batch = MetaBatch(stacked([rows(8, 1.0, s) for s in range(2)]), jnp.asarray(True))
    update = jax.jit(moorl.update)
    state, _ = update(state, batch, jax.random.key(1))
    state, _ = update(state, batch, jax.random.key(2))
    adam_count = int(state.critic_opt[0].count)
    assert adam_count == (2 if reset else 4)
    assert int(state.alpha_opt[0].count) == 4, "the temperature's optimiser always carries on"


def buffers_with(online_rows: int, capacity: int = 64) -> Buffers:
    online = replay.init(jax.tree.map(lambda x: x[0], rows(1, 0.0)), capacity)
    if online_rows:
        online = replay.add(online, rows(online_rows, -1.0, seed=1))
    return Buffers(online, {DATASET: replay.from_arrays(rows(100, 1.0))})


def test_the_online_buffer_is_never_sampled_before_it_holds_a_batch():
    moorl = MOORL(MOORLConfig(**SMALL, inner_steps=2, p_off=0.0, warmup_on=0), SPEC)  # online whenever allowed
    sample = jax.jit(moorl.sample_batch)
    state = moorl.init(jax.random.key(0))
    for online_rows in (0, 1, 7):  # fewer than a batch of 8: forced offline
        buffers = buffers_with(online_rows)
        for seed in range(5):
            batch = sample(buffers, state, jax.random.key(seed))
            assert bool(batch.offline) and (np.asarray(batch.transitions.reward) == 1.0).all()
            assert batch.transitions.reward.shape == (2, 8)
    batch = sample(buffers_with(8), state, jax.random.key(0))
    assert not bool(batch.offline) and (np.asarray(batch.transitions.reward) == -1.0).all()


def test_warmup_on_holds_the_choice_offline_then_p_off_sets_the_share():
    moorl = MOORL(MOORLConfig(**SMALL, inner_steps=1, p_off=0.3, warmup_on=20), SPEC)
    sample = jax.jit(jax.vmap(moorl.sample_batch, in_axes=(None, None, 0)))
    state, keys = moorl.init(jax.random.key(0)), jax.random.split(jax.random.key(4), 2000)
    assert np.asarray(sample(buffers_with(19), state, keys).offline).all()
    share = float(np.asarray(sample(buffers_with(20), state, keys).offline).mean())
    assert abs(share - 0.3) < 0.04
