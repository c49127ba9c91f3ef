"""A known gymnasium env whose extra is not installed: one line naming the env and what to install."""

import importlib.util

import gymnasium
import pytest

import envs
from envs.families import missing_dependency
from envs.registry import EnvDependencyError

NEEDS_FAKESIM = "HsrlNeedsFakesim-v0"


def _needs_fakesim(**kwargs):
    try:
        raise ModuleNotFoundError("No module named 'fakesim'", name="fakesim")
    except ModuleNotFoundError as error:
        raise gymnasium.error.DependencyNotInstalled("fakesim is not installed, run `pip install fakesim`") from error


@pytest.fixture
def registered_env_without_its_simulator():
    gymnasium.register(id=NEEDS_FAKESIM, entry_point=_needs_fakesim)
    yield f"gym:{NEEDS_FAKESIM}"
    del gymnasium.registry[NEEDS_FAKESIM]


def test_a_user_env_missing_a_package_names_it_with_gymnasiums_hint(registered_env_without_its_simulator):
    with pytest.raises(EnvDependencyError) as error:
        envs.make(registered_env_without_its_simulator)
    assert str(error.value) == (f"gym:{NEEDS_FAKESIM} needs fakesim, which is not installed "
                                "(fakesim is not installed, run `pip install fakesim`)")


def test_a_gymnasium_env_names_its_extra():
    error = gymnasium.error.DependencyNotInstalled("MuJoCo is not installed")
    message = missing_dependency("gym:Ant-v5", "gymnasium.envs.mujoco.ant_v5:AntEnv", error)
    assert message == "gym:Ant-v5 needs mujoco, which is not installed (pip install 'gymnasium[mujoco]')"


@pytest.mark.skipif(importlib.util.find_spec("Box2D") is not None, reason="box2d is installed here")
def test_car_racing_without_box2d_is_one_line_and_saves_nothing(tmp_path):
    from scripts import train

    run_dir = tmp_path / "run"
    with pytest.raises(EnvDependencyError) as error:
        train.main(["--env", "gym:CarRacing-v3", "--run-dir", str(run_dir), "--no-progress"])
    assert str(error.value) == "gym:CarRacing-v3 needs Box2D, which is not installed (pip install 'gymnasium[box2d]')"
    assert not run_dir.exists()
