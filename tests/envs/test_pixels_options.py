"""`pixels:` env strings: options reach the env, and a bad task, distractor, size or other option is a one-line
error naming what is accepted."""

import pytest

import envs
from envs.pixels import PixelOptionError


def test_family_is_registered_and_options_reach_the_env():
    assert "pixels" in envs.family_names()
    env = envs.make("pixels:cartpole_swingup?size=64&distractor=shapes&num_shapes=8&palette=b&action_repeat=4")
    assert isinstance(env, envs.PixelEnv) and envs.is_jax_env(env)
    assert (env.size, env.distractor, env.num_shapes, env.palette, env.action_repeat) == (64, "shapes", 8, "b", 4)
    assert env.background.num_shapes == 8 and env.spec.max_episode_steps == 250
    assert env.name == "pixels:cartpole_swingup"
    default = envs.make("pixels:pendulum_swingup")
    assert (default.size, default.distractor, default.palette, default.action_repeat) == (32, "none", "A", 2)
    assert envs.make("pixels:pendulum_swingup?distractor=shapes").background.num_shapes == 6
    assert envs.make("pixels:point_mass_reach") == envs.PixelEnv(task_name="point_mass_reach")


def test_unknown_task_suggests_close_names():
    with pytest.raises(envs.EnvNotFoundError, match="pendulum_swingup") as caught:
        envs.make("pixels:pendulum_swingip")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("options, words", [
    ("distractor=clouds", "distractor 'clouds'; known: none, noise, shapes, video, color"),
    ("size=0", "size must be an integer from 16 to 256"),
    ("size=1000", "size must be an integer from 16 to 256"),
    ("size=31.5", "size must be an integer"),
    ("size=big", "size must be an integer"),
    ("palette=C", "palette must be one of A, B"),
    ("num_shapes=6", "num_shapes applies to distractor=shapes only"),
    ("distractor=shapes&num_shapes=0", "num_shapes must be an integer from 1 to 16"),
    ("action_repeat=0", "action_repeat must be a positive integer"),
    ("max_episode_steps=-3", "max_episode_steps must be a positive integer"),
])
def test_bad_option_values_are_one_line_errors(options, words):
    with pytest.raises(PixelOptionError) as caught:
        envs.make(f"pixels:pendulum_swingup?{options}")
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_unknown_option_is_a_one_line_error():
    with pytest.raises(envs.EnvNotFoundError, match="bad options") as caught:
        envs.make("pixels:reacher2?colour=red")
    assert "\n" not in str(caught.value)
