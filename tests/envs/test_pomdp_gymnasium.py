"""Every `hsrl/<PopgymClassName>-v0` id passes gymnasium's env checker and speaks popgym's spaces."""

import gymnasium
import jax
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids)
from envs.pomdp import POMDP_ENVS, register_gymnasium_ids

IDS = register_gymnasium_ids()


def test_every_port_is_registered():
    assert len(IDS) == len(POMDP_ENVS) == 52 and all(gym_id in gymnasium.registry for gym_id in IDS)


# The checker's generic advice about unbounded or asymmetric Box spaces is about popgym's own choices.
@pytest.mark.filterwarnings("ignore:.*(infinity|symmetric and normalized):UserWarning")
@pytest.mark.parametrize("gym_id", IDS)
def test_env_checker(gym_id):
    # A handful of eager steps is far cheaper than compiling 52 envs.
    with jax.disable_jit():
        env = gymnasium.make(gym_id)
        check_env(env.unwrapped, skip_render_check=True)


def test_board_actions_and_tuple_observations_round_trip():
    with jax.disable_jit():
        battleship = gymnasium.make("hsrl/BattleshipEasy-v0")
        obs, _ = battleship.reset(seed=0)
        assert obs == 0 and isinstance(obs, int)
        obs, reward, *_ = battleship.step(np.array([7, 7]))
        assert obs in (0, 1) and min(abs(reward - 1 / 12), abs(reward + 1 / 52)) < 1e-6
        autoencode = gymnasium.make("hsrl/AutoencodeEasy-v0")
        obs, _ = autoencode.reset(seed=0)
        assert isinstance(obs, tuple) and obs[0] == 1 and autoencode.observation_space.contains(obs)
