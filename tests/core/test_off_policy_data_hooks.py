"""The off-policy loop's data-derived hooks: `init_with_data` builds the learner from the static sources and
`replay_capacity` sizes the online replay from them; and core/holdout.py's split keeps its held-out rows apart."""

import jax
import jax.numpy as jnp
import numpy as np

import envs
from agents.sac import SAC, SACConfig
from core import holdout, replay
from core.loops.off_policy import OffPolicyLoop


class DataSizedSAC(SAC):
    """SAC whose replay holds 3x its dataset and whose state records the dataset's mean observation."""

    def init_with_data(self, key, static):
        state = self.init(key)
        return state.replace(log_alpha=jnp.mean(static["data"].data["obs"]))

    def replay_capacity(self, static):
        return 3 * int(static["data"].size)


def test_loop_builds_learner_and_replay_from_the_static_data():
    env = envs.make("jax:Pendulum-v1")
    agent = DataSizedSAC(SACConfig(hidden=(8,), batch_size=4, learning_starts=0), env.spec)
    data = {"obs": jnp.full((7, 3), 2.5)}
    loop = OffPolicyLoop(agent, env, chunk_steps=10, seed=0, static_data={"data": replay.from_arrays(data)})
    carry = loop.init_carry(jax.random.PRNGKey(0))
    assert carry.replay.capacity == 21
    assert float(carry.agent.log_alpha) == 2.5
    plain = OffPolicyLoop(SAC(SACConfig(hidden=(8,), buffer_size=5), env.spec), env, chunk_steps=10, seed=0)
    assert plain.init_carry(jax.random.PRNGKey(0)).replay.capacity == 5, "the default is config.buffer_size"


def test_holdout_split_never_trains_on_a_held_out_row():
    size = 2 * holdout.PERIOD + 950  # two whole periods and a partial one reaching into its held-out block
    buffer = replay.from_arrays({"row": jnp.arange(size)})
    assert int(holdout.held_out_rows(buffer.size)) == 2 * holdout.HELD_OUT + 50
    train = np.asarray(holdout.sample_train(buffer, jax.random.PRNGKey(0), 100_000)["row"])
    held = np.asarray(holdout.sample_held_out(buffer, jax.random.PRNGKey(1), 20_000)["row"])
    assert np.all(train % holdout.PERIOD < holdout.TRAIN) and np.all(held % holdout.PERIOD >= holdout.TRAIN)
    assert train.max() < size and held.max() < size
    assert len(np.unique(train)) == int(holdout.train_rows(buffer.size)), "every training row can be drawn"
    assert len(np.unique(held)) == 250


def test_holdout_falls_back_to_all_rows_before_a_held_out_row_exists():
    buffer = replay.from_arrays({"row": jnp.arange(50)})
    held = np.asarray(holdout.sample_held_out(buffer, jax.random.PRNGKey(2), 1000)["row"])
    assert held.min() >= 0 and held.max() < 50 and len(np.unique(held)) == 50
