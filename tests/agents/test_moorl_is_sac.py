"""MOORL with one inner step and meta step 1 is SAC's update, bit for bit, three updates in a row.

Equality of the bits of two different programs holds once XLA has simplified both: its unoptimised lowering may
order the same float operations differently, so this module compiles with the optimisations on.
"""

import jax
import jax.numpy as jnp
import pytest

from agents.moorl import MOORL, MetaBatch, MOORLConfig
from agents.sac import SAC, SACConfig
from tests.agents.test_moorl_update import SMALL, SPEC, assert_same_bits, rows, stacked

pytestmark = pytest.mark.optimized


def test_one_inner_step_with_meta_step_one_is_a_sac_update_bit_for_bit():
    sac = SAC(SACConfig(**SMALL), SPEC)
    moorl = MOORL(MOORLConfig(**SMALL, inner_steps=1, meta_step=1.0), SPEC)
    state = sac.init(jax.random.key(0))
    batch, key = rows(8, 0.5), jax.random.key(1)
    for _ in range(3):  # three updates in a row: the optimiser moments and the targets must also agree
        state_sac, info_sac = jax.jit(sac.update)(state, batch, key)
        state_moorl, info_moorl = jax.jit(moorl.update)(state, MetaBatch(stacked([batch]), jnp.asarray(True)), key)
        assert_same_bits(state_sac, state_moorl)
        assert info_moorl["critic_loss"] == info_sac["critic_loss"]
        state, key = state_sac, jax.random.fold_in(key, 1)
