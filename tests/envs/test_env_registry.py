"""Env strings: parsing, the built-in families, plugging in a new family, and helpful errors."""

import pytest

import envs
from envs import registry


@pytest.mark.parametrize("raw, value", [
    ("3", 3), ("-2", -2), ("0.5", 0.5), ("1e-3", 1e-3), ("true", True), ("False", False), ("spring", "spring"),
])
def test_option_values_are_typed(raw, value):
    parsed = registry.parse_value(raw)
    assert parsed == value and type(parsed) is type(value)


def test_parse_env_string():
    assert envs.parse_env_string("brax:ant?backend=spring&n=2") == ("brax", "ant", {"backend": "spring", "n": 2})
    assert envs.parse_env_string("gym:pkg.mod:Maze-v0") == ("gym", "pkg.mod:Maze-v0", {})


@pytest.mark.parametrize("bad", ["CartPole-v1", ":CartPole", "jax:", "jax:CartPole?", "jax:CartPole?g",
                                 "jax:CartPole?g=1&g=2", "jax:CartPole?=1", "1x:CartPole"])
def test_malformed_strings_are_env_not_found_errors(bad):
    with pytest.raises(envs.EnvNotFoundError):
        envs.make(bad)


@pytest.mark.parametrize("bad, suggestion", [
    ("jax:CartPol", "CartPole-v1"),
    ("jaxx:CartPole-v1", "jax"),
    ("brax:antt", "ant"),
    ("gym:CartPole-v9", "CartPole-v1"),
    ("gym:HalfCheetha-v5", "HalfCheetah-v5"),
])
def test_unknown_names_suggest_close_ones(bad, suggestion):
    with pytest.raises(envs.EnvNotFoundError) as caught:
        envs.make(bad)
    message = str(caught.value)
    assert suggestion in message and "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_missing_user_module_is_not_found():
    with pytest.raises(envs.EnvNotFoundError, match="no_such_module_xyz"):
        envs.make("gym:no_such_module_xyz:Thing-v0")


def test_jax_family_with_and_without_version_and_kwargs():
    assert envs.make("jax:CartPole-v1") == envs.make("jax:CartPole") == envs.CartPole()
    pendulum = envs.make("jax:Pendulum?g=9.81&max_episode_steps=50")
    assert isinstance(pendulum, envs.Pendulum) and envs.is_jax_env(pendulum)
    assert pendulum.g == 9.81 and pendulum.spec.max_episode_steps == 50


def test_gym_family_passes_kwargs_to_gymnasium_make():
    env = envs.make("gym:Pendulum-v1?g=9.81")
    assert isinstance(env, envs.GymnasiumEnv) and not envs.is_jax_env(env)
    assert env.make_kwargs == {"g": 9.81}
    assert env.spec.max_episode_steps == 200 and env.spec.action_space.shape == (1,)


def test_brax_family_builds_a_jax_env():
    env = envs.make("brax:fast?backend=spring&episode_length=7")
    assert isinstance(env, envs.BraxEnv) and envs.is_jax_env(env)
    assert env.spec.max_episode_steps == 7


def test_a_new_family_plugs_in_with_one_decorator(monkeypatch):
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))
    seen = {}

    @envs.register_family("toy")
    def make_toy(env_id, kwargs):
        seen.update(env_id=env_id, kwargs=kwargs)
        return envs.CartPole(**kwargs)

    assert "toy" in envs.family_names()
    assert envs.make("toy:anything?gravity=3.5").gravity == 3.5
    assert seen == {"env_id": "anything", "kwargs": {"gravity": 3.5}}


def test_an_option_the_env_does_not_take_is_a_lookup_error():
    import pytest

    import envs

    with pytest.raises(envs.EnvNotFoundError, match="bad options"):
        envs.make("jax:Pendulum-v1?gravity_typo=3")
