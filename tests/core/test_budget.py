"""Budgets and intervals are rounded to whole iterations and whole chunks, and the run says what it rounded."""

import pytest

from core.budget import round_budget, round_to
from core.config import RunConfig


def test_round_to_is_the_nearest_multiple_and_at_least_one_unit():
    assert round_to(1000, 512) == 1024
    assert round_to(50_000, 1024) == 50_176
    assert round_to(700, 512) == 512
    assert round_to(100, 512) == 512
    assert round_to(768, 512) == 1024  # halves round up
    assert round_to(6, 3) == 6


@pytest.mark.parametrize("total", [20_000, 50_000, 1_000_000, 777, 1])
@pytest.mark.parametrize("unit", [1, 3, 512, 4096])
def test_every_total_becomes_whole_chunks_of_whole_iterations(total, unit):
    run, note = round_budget(RunConfig(total_steps=total), unit)
    assert run.log_every % unit == 0 and run.log_every >= unit
    assert run.total_steps % run.log_every == 0 and run.total_steps >= run.log_every
    assert run.eval_every % run.log_every == 0 and run.checkpoint_every % run.log_every == 0
    assert abs(run.total_steps - total) <= max(run.log_every // 2, unit)
    assert (note is None) == (run == RunConfig(total_steps=total))


def test_ppo_defaults_are_rounded_once_with_one_line():
    run, note = round_budget(RunConfig(total_steps=50_000), 4 * 128)
    assert (run.total_steps, run.log_every, run.eval_every, run.checkpoint_every) == (50_176, 1024, 5120, 5120)
    assert note == ("rounded to whole iterations of 512 env steps and chunks of 1024 (--log-every): "
                    "--total-steps 50000 -> 50176, "
                    "--log-every 1000 -> 1024, --eval-every 5000 -> 5120, --checkpoint-every 5000 -> 5120")


def test_sac_with_three_envs_counts_whole_env_batches():
    run, _ = round_budget(RunConfig(total_steps=20_000, stop_after=4000), 3)
    assert run.log_every == 999 and run.total_steps == 19_980 and run.stop_after == 3996


def test_a_run_shorter_than_a_chunk_is_one_chunk_and_zero_intervals_stay_zero():
    run, _ = round_budget(RunConfig(total_steps=300, eval_every=0, checkpoint_every=0), 1)
    assert (run.total_steps, run.log_every, run.eval_every, run.checkpoint_every) == (300, 300, 0, 0)


def test_whole_numbers_are_left_alone():
    run = RunConfig(total_steps=4096, log_every=1024, eval_every=2048, checkpoint_every=2048)
    assert round_budget(run, 512) == (run, None)


def test_a_resumed_run_keeps_the_short_chunk_its_first_total_gave_it():
    first, _ = round_budget(RunConfig(total_steps=300), 1)
    assert first.log_every == 300
    extended, _ = round_budget(RunConfig(total_steps=1200), 1, run_chunk=first.log_every)
    assert (extended.log_every, extended.total_steps, extended.eval_every) == (300, 1200, 5100)


@pytest.mark.parametrize("total", [20_000, 50_000, 1_000_000])
def test_every_agent_starts_on_its_defaults_with_only_env_and_total_given(total):
    import envs
    from agents.registry import AGENTS
    from core.config import validate

    env_for = {"sac": "jax:Pendulum-v1", "ppo": "jax:CartPole-v1", "icrl": "pomdp:RepeatPreviousEasy",
               "cql": "jax:Pendulum-v1", "h2o": "jax:Pendulum-v1", "moorl": "jax:Pendulum-v1",
               "sac-mix": "jax:Pendulum-v1", "hnpg": "jax:Pendulum-v1", "metra": "jax:PointPlane-v0",
               "dreamer": "pixels:pendulum_swingup", "nha_control": "hybrid:unicycle_resources"}
    # cql, h2o, moorl, sac-mix, hnpg also need --dataset: their loops are built here, not run
    for name, entry in AGENTS.items():
        config = entry.config_cls()
        run, _ = round_budget(RunConfig(agent=name, env=env_for[name], total_steps=total),
                              entry.loop_cls.iteration_steps(config))
        validate(run)
        env = envs.make(run.env)
        entry.loop_cls(entry.build(config, env.spec), env, run.log_every, run.seed)  # refuses a chunk that does not fit
        assert run.total_steps % entry.loop_cls.iteration_steps(config) == 0
