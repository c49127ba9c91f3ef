"""`pomdp-speed` rows: each memory's speed ratio is taken against the GRU trained with the same PPO update."""

import dataclasses

from agents.icrl import ICRLConfig
from scripts.benchmarks.pomdp_speed import speed_rows


def test_speed_ratios_pair_each_row_with_the_gru_of_its_update():
    tiny = dataclasses.replace(ICRLConfig(), num_envs=4, num_steps=8, memory_size=8, memory_layers=1,
                               encoder=(8,), hidden=(8,))
    configs = {}
    for epochs, minibatches in ((1, 1), (2, 2)):
        update = dataclasses.replace(tiny, update_epochs=epochs, num_minibatches=minibatches)
        configs[f"s5, {epochs} x {minibatches}"] = update
        configs[f"gru, {epochs} x {minibatches}"] = dataclasses.replace(update, memory="gru")

    rows = {row["config"]: row for row in speed_rows(configs, "pomdp:RepeatPreviousEasy", 1)}

    for update in ("1 x 1", "2 x 2"):
        s5, gru = rows[f"s5, {update}"], rows[f"gru, {update}"]
        assert s5["epochs_x_minibatches"] == gru["epochs_x_minibatches"] == update
        assert gru["speed_vs_gru"] == 1.0
        assert s5["speed_vs_gru"] == round(s5["steps_per_second"] / gru["steps_per_second"], 2)
        assert s5["compile_vs_gru"] == round(s5["compile_seconds"] / gru["compile_seconds"], 2)
