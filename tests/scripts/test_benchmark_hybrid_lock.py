"""The lock experiment's measure: online samples until the moving average of the success rate first exceeds 0.5
over a full window (never: None), and its table."""

from scripts.benchmarks import hybrid_lock


def test_samples_to_success_needs_a_full_window_above_one_half():
    curve = {1000 * (i + 1): rate for i, rate in enumerate([1.0, 0.0, 0.0, 0.4, 0.8, 0.9, 1.0])}
    assert hybrid_lock.samples_to_success(curve, 3) == 6000, "0.4, 0.8, 0.9 is the first window above 0.5"
    assert hybrid_lock.samples_to_success(curve, 1) == 1000
    assert hybrid_lock.samples_to_success({1000: 1.0, 2000: 1.0}, 3) is None, "a window never fills"
    assert hybrid_lock.samples_to_success({1000: 0.5, 2000: 0.5, 3000: 0.5}, 3) is None, "must exceed 0.5"


def test_rows_and_table_count_solved_seeds():
    budget = hybrid_lock.QUICK[0]
    per_seed = {0: {"samples_to_success": 4000, "final_success_rate": 0.9},
                1: {"samples_to_success": None, "final_success_rate": 0.1}}
    row = hybrid_lock.method_row("hnpg", per_seed, budget)
    assert (row["solved"], row["seeds"], row["samples_to_success_mean"]) == (1, 2, 4000)
    assert abs(row["final_success_rate_mean"] - 0.5) < 1e-12
    assert "| hnpg | 1/2 | 4,000, never | 4,000 | 0.50 |" in hybrid_lock.lock_markdown([row], budget)
