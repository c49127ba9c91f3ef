"""`shift:` envs: each parameter really changes the dynamics, the base env and the installed XML files stay as they
were, action noise is seeded and stays inside the env, and bad strings are one-line errors."""

import hashlib
import sys
from pathlib import Path

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.gymnasium_host import EnvWrapperError
from envs.shift import ShiftError, base_env
from envs.wrappers.action_noise import ActionNoise, ActionNoiseError

STEPS = 20
MUJOCO_ASSETS = Path(gymnasium.__file__).parent / "envs" / "mujoco" / "assets"


def observations(env_string: str, steps: int = STEPS, seed: int = 0) -> np.ndarray:
    """Observations [steps + 1, obs] of one env from a seeded reset, under a fixed random action sequence."""
    env = envs.make(env_string)
    actions = np.random.default_rng(1).uniform(-1.0, 1.0, (steps, 1, *env.action_space.shape))
    with env.vector(1, seed=seed) as vec:
        first = vec.reset().obs
        return np.concatenate([first, *(vec.step(action).obs for action in actions)])


@pytest.fixture(scope="module")
def cheetah() -> np.ndarray:
    return observations("gym:HalfCheetah-v5")


def differs(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and not np.allclose(a, b)


@pytest.mark.parametrize("shift", ["gravity=2.0", "friction=0.3", "mass=1.5", "action_noise=0.3"])
def test_each_parameter_changes_the_halfcheetah_trajectory(cheetah, shift):
    shifted = observations(f"shift:HalfCheetah-v5?{shift}")
    np.testing.assert_array_equal(shifted[0], cheetah[0])  # the same seeded start...
    assert differs(shifted, cheetah)  # ...and other dynamics from it


@pytest.mark.parametrize("base, shift", [("Hopper-v5", "mass=1.5"), ("Walker2d-v5", "gravity=2"),
                                         ("Ant-v5", "friction=0.2&gravity=0.5")])
def test_the_other_locomotion_envs_shift_too(base, shift):
    assert differs(observations(f"shift:{base}?{shift}", steps=8), observations(f"gym:{base}", steps=8))


def test_parameters_combine(cheetah):
    both = observations("shift:gym:HalfCheetah-v5?gravity=2&friction=0.3")
    assert differs(both, observations("shift:HalfCheetah-v5?gravity=2"))
    assert differs(both, observations("shift:HalfCheetah-v5?friction=0.3"))
    # The explicit gym: prefix and the bare id are one env.
    np.testing.assert_array_equal(observations("shift:gym:HalfCheetah-v5?gravity=2"),
                                  observations("shift:HalfCheetah-v5?gravity=2"))


def asset_hashes() -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(MUJOCO_ASSETS.glob("*.xml"))}


def test_neither_the_base_env_nor_the_xml_files_change(cheetah):
    before = asset_hashes()
    assert "half_cheetah.xml" in before
    observations("shift:HalfCheetah-v5?gravity=3&friction=0.1&mass=2&action_noise=0.5")
    np.testing.assert_array_equal(observations("gym:HalfCheetah-v5"), cheetah)  # built after the shifted one
    assert asset_hashes() == before
    env = envs.make("gym:HalfCheetah-v5")
    with env.vector(1, seed=0) as vec:
        np.testing.assert_array_equal(vec._env.envs[0].unwrapped.model.opt.gravity, [0.0, 0.0, -9.81])


def test_action_noise_is_seeded_and_zero_noise_is_the_base(cheetah):
    noisy = observations("shift:HalfCheetah-v5?action_noise=0.3", seed=3)
    np.testing.assert_array_equal(observations("shift:HalfCheetah-v5?action_noise=0.3", seed=3), noisy)
    assert differs(observations("shift:HalfCheetah-v5?action_noise=0.3", seed=4)[1:], noisy[1:])
    np.testing.assert_array_equal(observations("shift:HalfCheetah-v5?action_noise=0"), cheetah)


def test_the_simulator_gets_the_noisy_action_clipped_to_the_ctrlrange():
    env = envs.make("shift:HalfCheetah-v5?action_noise=10")
    clean = np.full((1, *env.action_space.shape), 0.5, np.float32)
    with env.vector(1, seed=0) as vec:
        vec.reset()
        vec.step(clean)
        simulator = vec._env.envs[0].unwrapped
        ctrl = simulator.data.ctrl
        low, high = simulator.model.actuator_ctrlrange.T
    assert np.all(ctrl >= low) and np.all(ctrl <= high) and not np.allclose(ctrl, clean[0])


def test_names_and_base_env():
    env = envs.make("shift:HalfCheetah-v5?gravity=2.0")
    assert env.name == env.spec.name == "shift:HalfCheetah-v5?gravity=2.0"
    with env.vector(1, seed=0) as vec:
        assert vec.spec.name == env.name
    assert base_env("shift:HalfCheetah-v5?gravity=2.0") == "gym:HalfCheetah-v5"
    assert base_env("shift:gym:Hopper-v5?mass=1.2&max_episode_steps=50") == "gym:Hopper-v5?max_episode_steps=50"
    assert base_env("shift:brax:ant?gravity=2") == "brax:ant"
    assert base_env("shift:brax:ant?backend=spring&gravity=2") == "brax:ant?backend=spring"
    assert base_env("gym:HalfCheetah-v5") is None and base_env("jax:Pendulum-v1") is None
    # Options of the base env pass through to it.
    assert envs.make("shift:HalfCheetah-v5?gravity=2&max_episode_steps=50").max_episode_steps == 50


@pytest.mark.parametrize(
    "env_string, message",
    [
        ("shift:HalfCheetah-v5?gravty=2", "did you mean gravity? shift parameters: gravity, friction, mass, "
                                          "action_noise"),
        ("shift:HalfCheetah-v5?wind=2", "shift parameters are gravity, friction, mass, action_noise"),
        ("shift:HalfCheetah-v5?gravity=0", "gravity is a multiplier and must be > 0"),
        ("shift:HalfCheetah-v5?mass=-1", "mass is a multiplier and must be > 0"),
        ("shift:HalfCheetah-v5?friction=abc", "friction must be a finite number"),
        ("shift:HalfCheetah-v5?action_noise=-0.1", "action_noise is a noise std and must be >= 0"),
        ("shift:CartPole-v1", "gym:CartPole-v1, which has no MuJoCo model; it supports gymnasium MuJoCo envs"),
        ("shift:jax:Pendulum-v1?gravity=2", "cannot edit the simulator of 'jax:Pendulum-v1'; it supports"),
        ("shift:pomdp:RepeatPreviousEasy", "it supports gymnasium MuJoCo envs (shift:HalfCheetah-v5"),
    ],
)
def test_bad_shift_strings_are_one_line_errors(env_string, message):
    with pytest.raises(ShiftError) as error:
        envs.make(env_string)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert isinstance(error.value, envs.EnvNotFoundError)


def test_base_env_refuses_bad_shift_strings_and_the_shift_sets_its_own_edits():
    with pytest.raises(ShiftError, match="did you mean mass"):
        base_env("shift:HalfCheetah-v5?mas=2")
    with pytest.raises(ShiftError, match="sets its own model_edit"):
        envs.make("shift:HalfCheetah-v5?gravity=2", model_edit=lambda model: None)
    with pytest.raises(envs.EnvNotFoundError, match="did you mean HalfCheetah-v5"):
        envs.make("shift:HalfChetah-v5?gravity=2")


def test_env_wrapper_hook_refuses_a_wrapper_that_returns_no_env():
    with pytest.raises(EnvWrapperError, match="must return a gymnasium env"):
        envs.make("gym:InvertedPendulum-v5", env_wrapper=lambda env: None)


def test_a_misspelt_parameter_on_the_command_line_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    from scripts import train

    run_dir = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", ["train", "--run-dir", str(run_dir), "--no-progress",
                                      "--env", "shift:HalfCheetah-v5?gravty=2"])
    with pytest.raises(SystemExit) as exit_info:
        train.cli()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("train: error:") and "did you mean gravity?" in err[0]
    assert not run_dir.exists()


# --- JAX envs: the action-noise wrapper and Brax ------------------------------------------------------------------

def jax_rollout(env, steps: int = 8, seed: int = 0) -> np.ndarray:
    """Observations [steps, obs] of one jitted scan under a constant push."""

    @jax.jit
    def run(key):
        state, _ = env.reset(key)

        def body(state, key):
            state, timestep = env.step(state, jnp.full(env.action_space.shape, 0.5), key)
            return state, timestep.obs

        return jax.lax.scan(body, state, jax.random.split(key, steps))[1]

    return np.asarray(run(jax.random.key(seed)))


def test_action_noise_wrapper_uses_the_step_key():
    pendulum = envs.make("jax:Pendulum-v1")
    noisy = ActionNoise(pendulum, 1.0)
    assert noisy.name == pendulum.name
    np.testing.assert_array_equal(jax_rollout(noisy), jax_rollout(noisy))
    assert differs(jax_rollout(noisy), jax_rollout(pendulum))
    with pytest.raises(ActionNoiseError, match=">= 0"):
        ActionNoise(pendulum, -1.0)


BRAX_BASE = "brax:inverted_pendulum?backend=spring"  # the cheapest brax env with gravity (tests/envs/test_brax_adapter)


@pytest.fixture(scope="module")
def brax_pendulum() -> np.ndarray:
    return jax_rollout(envs.make(BRAX_BASE))


def test_brax_gravity_changes_the_trajectory(brax_pendulum):
    env = envs.make("shift:brax:inverted_pendulum?backend=spring&gravity=2.0")
    assert env.name == "shift:brax:inverted_pendulum?backend=spring&gravity=2.0"
    np.testing.assert_allclose(env.brax_env.sys.gravity, [0.0, 0.0, -19.62], rtol=1e-6)
    np.testing.assert_allclose(env.brax_env.sys.opt.gravity, [0.0, 0.0, -19.62], rtol=1e-6)
    assert differs(jax_rollout(env), brax_pendulum)


def test_brax_friction_mass_and_action_noise_edit_the_system_and_step(brax_pendulum):
    base = envs.make(BRAX_BASE).brax_env.sys
    env = envs.make("shift:brax:inverted_pendulum?backend=spring&friction=0.5&mass=2&action_noise=0.3")
    assert isinstance(env, ActionNoise) and env.std == 0.3 and env.spec.name.startswith("shift:brax:")
    sys_ = env.env.brax_env.sys
    np.testing.assert_allclose(sys_.geom_friction, 0.5 * np.asarray(base.geom_friction), rtol=1e-6)
    for field in ("link.inertia.mass", "link.inertia.i", "body_mass", "body_inertia"):
        edited, plain = sys_, base
        for part in field.split("."):
            edited, plain = getattr(edited, part), getattr(plain, part)
        np.testing.assert_allclose(edited, 2.0 * np.asarray(plain), rtol=1e-6, err_msg=field)
    np.testing.assert_array_equal(sys_.gravity, base.gravity)
    shifted = jax_rollout(env)
    assert np.isfinite(shifted).all() and differs(shifted, brax_pendulum)
