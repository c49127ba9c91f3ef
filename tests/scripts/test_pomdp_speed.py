"""`pomdp-speed` rows: each memory's speed ratio is taken against the GRU trained with the same PPO update."""

import dataclasses

from agents.icrl import ICRLConfig
from scripts.benchmarks.pomdp_speed import speed_rows, with_ratios_to_gru


def test_speed_ratios_pair_each_row_with_the_gru_of_its_update():
    def row(config, update, speed, compile_seconds):
        return {"config": config, "epochs_x_minibatches": update, "steps_per_second": speed,
                "compile_seconds": compile_seconds}

    rows = with_ratios_to_gru([row("s5, 1 x 1", "1 x 1", 300, 4.0), row("gru, 1 x 1", "1 x 1", 100, 2.0),
                               row("s5, 2 x 2", "2 x 2", 50, 9.0), row("gru, 2 x 2", "2 x 2", 200, 3.0)])

    assert [r["speed_vs_gru"] for r in rows] == [3.0, 1.0, 0.25, 1.0]
    assert [r["compile_vs_gru"] for r in rows] == [2.0, 1.0, 3.0, 1.0]


def test_speed_rows_time_real_trainings():
    tiny = dataclasses.replace(ICRLConfig(), num_envs=4, num_steps=8, memory_size=8, memory_layers=1,
                               encoder=(8,), hidden=(8,), update_epochs=1, num_minibatches=1)
    configs = {"s5, 1 x 1": tiny, "gru, 1 x 1": dataclasses.replace(tiny, memory="gru")}

    rows = {row["config"]: row for row in speed_rows(configs, "pomdp:RepeatPreviousEasy", 1, rounds=1)}

    s5, gru = rows["s5, 1 x 1"], rows["gru, 1 x 1"]
    assert s5["steps_per_second"] > 0 and s5["compile_seconds"] > 0 and gru["speed_vs_gru"] == 1.0
    assert s5["speed_vs_gru"] == round(s5["steps_per_second"] / gru["steps_per_second"], 2)
