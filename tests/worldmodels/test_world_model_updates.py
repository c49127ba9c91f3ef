"""Each world model's update (model, optimiser and, for HRSSM, EMA step) is one jitted call, compiled once, and
lowers its loss on a fixed batch."""

import jax
import pytest

from tests.worldmodels.wm_fixtures import ACTIONS, fixed_batch, tiny_config, tiny_hrssm_config
from worldmodels.decoder_rssm import DecoderRSSM
from worldmodels.hrssm import HRSSM

UPDATES = 40


def fixed_loss(model, state, batch, key):
    if isinstance(model, HRSSM):
        return model.loss(state.params, state.ema, batch, key)[0]
    return model.loss(state.params, batch, key)[0]


@pytest.mark.parametrize("build", [lambda: DecoderRSSM(tiny_config(), ACTIONS),
                                   lambda: HRSSM(tiny_hrssm_config(), ACTIONS)], ids=["decoder_rssm", "hrssm"])
def test_one_jitted_update_compiles_once_and_lowers_the_loss(build):
    model = build()
    state = model.init(jax.random.PRNGKey(0))
    batch, key = fixed_batch(), jax.random.PRNGKey(1)
    program = jax.make_jaxpr(model.update)(state, batch, key)
    assert [eqn.primitive.name for eqn in program.eqns] in (["pjit"], ["jit"]), "one jitted call"
    loss = jax.jit(lambda s: fixed_loss(model, s, batch, key))
    before = float(loss(state))
    for i in range(UPDATES):
        state, metrics = model.update(state, batch, jax.random.PRNGKey(100 + i))
    assert model.update._cache_size() == 1
    assert int(state.updates) == UPDATES
    after = float(loss(state))
    assert after < 0.8 * before, (before, after, {k: float(v) for k, v in metrics.items()})
