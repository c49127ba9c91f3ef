"""Every run and agent option has a declared range, checked before a run builds or writes anything."""

import ast
import dataclasses
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import kernels
from agents.icrl import ICRLConfig, paper_config
from agents.ppo import PPOConfig
from agents.registry import AGENTS
from agents.sac import SACConfig
from core import config as core_config
from core import validation
from core.config import ConfigError, RunConfig
from scripts import train

REPO = Path(__file__).resolve().parents[2]
CONFIGS = [RunConfig, SACConfig, PPOConfig, ICRLConfig]


def field_docstring(cls: type, name: str) -> str:
    """The docstring under a field's declaration, from the first class in the MRO that declares it."""
    for klass in cls.__mro__:
        if name not in klass.__dict__.get("__annotations__", {}):
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        for statement, following in zip(body, body[1:]):
            if isinstance(statement, ast.AnnAssign) and statement.target.id == name:
                return inspect.cleandoc(following.value.value)
    raise LookupError(f"{cls.__name__}.{name} has no docstring")


@pytest.mark.parametrize("config_cls", CONFIGS, ids=lambda c: c.__name__)
def test_every_field_declares_a_range_and_the_defaults_are_in_it(config_cls):
    assert validation.undeclared_fields(config_cls) == []
    validation.check_config(config_cls())


def test_the_paper_preset_is_in_range():
    validation.check_config(paper_config())
    validation.check_config(paper_config(memory="gru", memory_layers=1))


def test_a_preset_that_only_changes_defaults_keeps_the_base_ranges():
    assert validation.field_ranges(ICRLConfig) == validation.field_ranges(PPOConfig)
    with pytest.raises(ConfigError, match="^--num-envs must be positive, got 0$"):
        validation.check_config(ICRLConfig(num_envs=0))


def test_config_error_is_one_class_importable_from_core_config():
    assert core_config.ConfigError is validation.ConfigError and issubclass(ConfigError, ValueError)
    with pytest.raises(ConfigError, match="--log-every must be positive, got 0"):
        core_config.validate(RunConfig(log_every=0))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_floats_are_refused(value):
    with pytest.raises(ConfigError, match="^--target-entropy-scale must be a finite number, got"):
        validation.check_config(SACConfig(target_entropy_scale=value))


def test_types_are_checked_before_ranges():
    with pytest.raises(ConfigError, match=r"^--batch-size must be an integer, got 2\.5$"):
        validation.check_config(SACConfig(batch_size=2.5))
    with pytest.raises(ConfigError, match="^--progress must be true or false, got 1$"):
        validation.check_config(RunConfig(progress=1))


def test_zero_means_only_at_the_end_for_evaluations_and_checkpoints():
    validation.check_config(RunConfig(eval_every=0, checkpoint_every=0))
    assert "0: only the final evaluation" in field_docstring(RunConfig, "eval_every")
    assert "0: only the ones at the end" in field_docstring(RunConfig, "checkpoint_every")


SAC = ["--agent", "sac"]
PPO = ["--agent", "ppo", "--env", "jax:CartPole-v1"]
ICRL = ["--agent", "icrl", "--env", "jax:CartPole-v1"]
BAD_INPUTS = [
    (SAC + ["--batch-size", "0"], "--batch-size must be positive, got 0"),
    (SAC + ["--batch-size", "-4"], "--batch-size must be positive, got -4"),
    (SAC + ["--actor-lr", "-0.001"], "--actor-lr must be positive, got -0.001"),
    (SAC + ["--critic-lr", "0"], "--critic-lr must be positive, got 0.0"),
    (SAC + ["--alpha-lr", "nan"], "--alpha-lr must be a finite number, got nan"),
    (SAC + ["--gamma", "2"], "--gamma must be in [0, 1], got 2.0"),
    (SAC + ["--tau", "0"], "--tau must be in (0, 1], got 0.0"),
    (SAC + ["--init-alpha", "0"], "--init-alpha must be positive, got 0.0"),
    (SAC + ["--learning-starts", "-1"], "--learning-starts must be non-negative, got -1"),
    (SAC + ["--buffer-size", "0"], "--buffer-size must be positive, got 0"),
    (SAC + ["--hidden"], "--hidden must be one or more positive integers, got ()"),
    (SAC + ["--hidden", "0"], "--hidden must be one or more positive integers, got (0,)"),
    (SAC + ["--num-envs", "0"], "--num-envs must be positive, got 0"),
    (PPO + ["--lr", "-1e-4"], "--lr must be positive, got -0.0001"),
    (PPO + ["--num-envs", "0"], "--num-envs must be positive, got 0"),
    (PPO + ["--num-steps", "0"], "--num-steps must be positive, got 0"),
    (PPO + ["--num-minibatches", "0"], "--num-minibatches must be positive, got 0"),
    (PPO + ["--update-epochs", "0"], "--update-epochs must be positive, got 0"),
    (PPO + ["--clip-eps", "-1"], "--clip-eps must be positive, got -1.0"),
    (PPO + ["--gae-lambda", "1.5"], "--gae-lambda must be in [0, 1], got 1.5"),
    (PPO + ["--max-grad-norm", "inf"], "--max-grad-norm must be a finite number, got inf"),
    (PPO + ["--hidden", "0"], "--hidden must be one or more positive integers, got (0,)"),
    (PPO + ["--hidden"], "--hidden must be one or more positive integers, got ()"),
    (PPO + ["--activation", "swish"], "--activation must be one of tanh, relu, leaky_relu, got 'swish'"),
    (PPO + ["--memory", "transformer"], "--memory must be one of s5, s4d, selective, gru, lstm, none"),
    (ICRL + ["--memory-size", "0"], "--memory-size must be positive, got 0"),
    (ICRL + ["--memory-layers", "0"], "--memory-layers must be positive, got 0"),
    (ICRL + ["--memory-options", "ssm_size"], "--memory-options must be key=value pairs, got ('ssm_size',)"),
    (SAC + ["--eval-every", "-1"], "--eval-every must be non-negative, got -1"),
    (SAC + ["--checkpoint-every", "-1"], "--checkpoint-every must be non-negative, got -1"),
    (SAC + ["--stop-after", "0"], "--stop-after must be positive or None, got 0"),
    (SAC + ["--seed", "-1"], "--seed must be in [0, 4294967295], got -1"),
    (SAC + ["--total-steps", "0"], "--total-steps must be positive, got 0"),
    (SAC + ["--eval-episodes", "0"], "--eval-episodes must be positive, got 0"),
]


@pytest.mark.parametrize("bad_args, message", BAD_INPUTS, ids=[" ".join(a[2:]) for a, _ in BAD_INPUTS])
def test_bad_options_fail_in_validation_naming_the_option(tmp_path, bad_args, message):
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError) as error:
        train.main([*bad_args, "--run-dir", str(run_dir), "--no-progress"])
    assert str(error.value).startswith(message)
    assert not run_dir.exists()


def test_an_unknown_memory_option_is_one_line_listing_the_valid_keys(tmp_path):
    run_dir = tmp_path / "run"
    args = [*ICRL, "--memory-options", "bogus=1", "--total-steps", "4096", "--log-every", "4096"]
    with pytest.raises(ValueError, match=r"s5 memory has no option\(s\) \['bogus'\]; valid: \[.*'ssm_size'"):
        train.main([*args, "--run-dir", str(run_dir), "--no-progress"])
    assert not run_dir.exists()


@pytest.mark.parametrize("option, message", [
    ("norm=maybe", "s5 memory option norm must be True or False, got 'maybe'"),
    ("ssm_size=2.5", "s5 memory option ssm_size must be an integer, got 2.5"),
])
def test_a_memory_option_of_the_wrong_kind_is_one_line(tmp_path, option, message):
    """Without the check, `norm=maybe` reached the cell as the string 'maybe', which is true."""
    run_dir = tmp_path / "run"
    args = [*ICRL, "--memory-options", option, "--total-steps", "4096", "--log-every", "4096"]
    with pytest.raises(ValueError, match=re.escape(message)):
        train.main([*args, "--run-dir", str(run_dir), "--no-progress"])
    assert not run_dir.exists()


def test_a_bad_option_is_one_line_from_the_real_command(tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "scripts/train.py", "--batch-size", "0", "--run-dir", str(run_dir)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["train: error: --batch-size must be positive, got 0"]
    assert not run_dir.exists()


def test_the_agent_help_lists_every_agent():
    words = set(re.findall(r"[a-z0-9_-]+", field_docstring(RunConfig, "agent")))
    assert set(AGENTS) <= words


def memory_options_help() -> dict[str, list[tuple[str, list[str]]]]:
    """The --memory-options help as {memory: [(option, listed choices)]}."""
    sections: dict[str, str] = {}
    current = None
    for line in field_docstring(PPOConfig, "memory_options").splitlines()[1:]:
        head, colon, rest = line.partition(": ")
        names = head.split(", ")
        if colon and set(names) <= set(kernels.MEMORY_NAMES):
            current = tuple(names)
            sections[current] = rest
        else:
            sections[current] += " " + line
    parsed = {}
    for names, text in sections.items():
        items = [] if text.strip(" .") == "no options" else text.strip(" .").split(", ")
        options = [re.fullmatch(r"([a-z_]+)(?: \((.*)\))?", item).groups() for item in items]
        for name in names:
            parsed[name] = [(key, choices.split("|") if choices and "|" in choices else []) for key, choices in options]
    return parsed


def test_the_memory_options_help_lists_exactly_the_options_make_memory_accepts():
    listed = memory_options_help()
    assert sorted(listed) == sorted(kernels.MEMORY_NAMES)
    for memory, options in listed.items():
        default = kernels.make_memory(memory)
        fields = {f.name for f in dataclasses.fields(default)} - {"hidden_size"}  # --memory-size sets it
        assert sorted(key for key, _ in options) == sorted(fields), memory
        for key, choices in options:
            kernels.make_memory(memory, **{key: getattr(default, key)})
            for choice in choices:
                kernels.make_memory(memory, **{key: choice})


def test_ppo_help_shows_every_option_with_its_default(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit):
        train.main(["--agent", "ppo", "--help"])
    help_text = capsys.readouterr().out
    for config_cls in (RunConfig, PPOConfig):
        for field in dataclasses.fields(config_cls):
            assert validation.option_name(field.name) in help_text, field.name
    assert help_text.count("(default:") == len(dataclasses.fields(RunConfig)) + len(dataclasses.fields(PPOConfig))
