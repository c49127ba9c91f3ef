"""`simulate` of a neural hybrid automaton is pure: under `vmap` it equals a loop over initial states, with the
clock-driven events and with a known guard."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from worldmodels.nha.events import EventConfig, EventRecords, init_event_params, transition_stats
from worldmodels.nha.model import NHAModel
from worldmodels.nha.modes import ModeConfig
from worldmodels.nha.segments import Normaliser
from worldmodels.nha.simulate import simulate


@pytest.fixture(scope="module")
def model() -> NHAModel:
    """Two modes: a rotation and a decay, switching 0 -> 1 -> 0 after log-normal sojourns of about 0.3."""
    rng = np.random.default_rng(0)
    count = 40
    source = np.arange(count) % 2
    tau = np.exp(rng.normal(np.log(0.3), 0.3, count))
    zeros = np.zeros((count, 2))
    records = EventRecords(source, 1 - source, tau, zeros, zeros, zeros, np.zeros((count, 0)), np.zeros(count, bool))
    config, events = ModeConfig(modes=2), EventConfig()
    encoder = config.encoder().init(jax.random.PRNGKey(0), jnp.zeros((1, 10)))["params"]
    flows = {"A": jnp.array([[[0.0, 1.0], [-1.0, 0.0]], [[-0.5, 0.0], [0.0, -0.5]]]), "b": jnp.zeros((2, 2))}
    params = init_event_params(events, jax.random.PRNGKey(1), 2, 2, 0)
    params["jumps"]["b3"] = jnp.full((2, 2, 2), 0.1)  # every jump moves the state a little
    return NHAModel(encoder, flows, params, transition_stats(records, 2, 1.0),
                    Normaliser(jnp.zeros(2), jnp.ones(2)), jnp.ones(2, bool), jnp.arange(2), jnp.ones(2), config,
                    events)


@pytest.mark.parametrize("guarded", [False, True])
def test_simulate_under_vmap_equals_a_loop(model, guarded):
    guard = (lambda x: x[0] + 0.5) if guarded else None  # crossed by the rotation of mode 0
    grid = jnp.linspace(0.0, 3.0, 61)
    x0 = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.5, -0.5]])
    mode0 = jnp.array([0, 1, 0])
    keys = jax.random.split(jax.random.PRNGKey(2), 3)
    run = lambda x, z, k: simulate(model, x, z, grid, k, guard=guard)
    batched = jax.jit(jax.vmap(run))(x0, mode0, keys)
    single = jax.jit(run)
    for i in range(3):
        alone = single(x0[i], mode0[i], keys[i])
        for name in ("x", "mode", "event", "source", "target"):
            np.testing.assert_allclose(batched[name][i], alone[name], rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(batched["event_time"][i], alone["event_time"], rtol=1e-5, equal_nan=True)
    assert int(batched["event"].sum()) >= (2 if guarded else 4)  # the runs do switch modes
    if not guarded:  # between events the state follows its mode's flow: events are where the mode changes
        modes = np.asarray(batched["mode"])
        assert (np.asarray(batched["event"])[:, 1:] == (modes[:, 1:] != modes[:, :-1])).all()
