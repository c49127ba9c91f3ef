"""The `nha` suite: the small-budget evidence for neural hybrid automata (Poli, Massaroli et al., NeurIPS 2021)
on this 2-core CPU, each result against its pass line (docs/nha.md).

1. Reno TCP: 40 + 15 generated trajectories; NHA m = 3 and m = 5 (pruned), NODE, LatentNODE, 2,000 full-batch
   epochs each (NODE: 300, since its MLP field makes an epoch ~10x slower here; the table gives every model's
   epochs); the event module fitted, then 500 simulated runs. Pass lines: NHA m = 3 v-measure >= 0.9 on the
   test segments; its scaled test MSE >= 5x below NODE's; KS <= 0.1 between the learned SS and CA sojourn laws
   and the analytic ones; mode occupancy within +-0.05 of the true simulator; the censoring ablation's KS larger.
2. Mode mixing (switching linear system, 128 trajectories, 1,000 epochs, state gate): STE v-measure >= 0.9 on a
   100 x 100 grid, and the softmax gate's mean entropy clearly higher (we read "clearly" as >= 2x).
3. Bouncing ball (64 + 16 trajectories): NHA (1,000 epochs) with the known guard against NODE (300 epochs); 5-s
   rollout MSE of NHA < 0.1 x NODE's, and the restitution read off the jump map within +-0.03 of 0.8.
Speed rows: epochs/s of NHA and NODE (each epoch one jitted full-batch step over all training windows), and one
vmapped, jitted `simulate` call of 500 TCP runs. `--quick` shrinks every budget (10 + 5 TCP trajectories, 100
epochs, 100 simulated runs) to check the plumbing; its numbers say nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import numpy as np

from scripts.benchmarks import nha_ball, nha_tcp
from scripts.benchmarks.report import SuiteResult, markdown_table
from worldmodels.nha.data import load_data
from worldmodels.nha.evaluation import learned_to_true, simulate_many
from worldmodels.nha.fit import NHAFitOptions
from worldmodels.nha.plots import plot_reconstruction, plot_simulation

SEED = 0
ABLATION_SEEDS = (0, 1, 2)  # paired event-module refits of the censoring ablation


def budgets(quick: bool) -> dict:
    if quick:
        return {"tcp": (10, 5), "epochs": 100, "event_steps": 100, "runs": 100, "ball": (16, 4), "ball_epochs": 100,
                "node_epochs": 50,
                "mix_epochs": 50, "mix_trajectories": 32}
    return {"tcp": (40, 15), "epochs": 2000, "event_steps": 2000, "runs": 500, "ball": (64, 16),
            "ball_epochs": 1000, "node_epochs": 300, "mix_epochs": 1000, "mix_trajectories": 128}


def check(name: str, value: float, line: str, passed: bool) -> dict:
    return {"check": name, "value": round(float(value), 4), "pass line": line, "pass": bool(passed)}


def tcp_rows(out_dir: Path, b: dict) -> tuple[list[dict], list[dict], dict]:
    options = NHAFitOptions(epochs=b["epochs"], event_steps=b["event_steps"], simulations=b["runs"], progress=False)
    data = load_data("hybrid:reno_tcp", SEED, *b["tcp"], 0.25)
    fits = nha_tcp.fit_all(data, options, SEED, b["node_epochs"])
    table = []
    for name, outcome in fits.items():
        e = outcome.evaluation
        table.append({"model": name, "test MSE (scaled)": e["test_mse"], "test MSE (raw)": e["test_mse_raw"],
                      "sMAPE %": e["test_smape"], "v-measure": e.get("v_measure"),
                      "homogeneity": e.get("homogeneity"), "completeness": e.get("completeness"),
                      "modes kept": e.get("modes_kept"), "epochs": e["epochs"], "epochs/s": e["epochs_per_second"]})
    nha3, nha5, node = fits["NHA m=3"], fits["NHA m=5 (pruned)"], fits["NODE"]
    ks = nha_tcp.analytic_ks(nha3.model, data, SEED)
    ablation = nha_tcp.censoring_ablation(nha3.model, data, b["event_steps"], ABLATION_SEEDS)
    e3 = nha3.evaluation
    ratio = node.evaluation["test_mse"] / e3["test_mse"]
    rows = [check("TCP: NHA m=3 v-measure (test segments)", e3["v_measure"], ">= 0.9", e3["v_measure"] >= 0.9),
            check("TCP: NODE / NHA m=3 scaled test MSE", ratio, ">= 5", ratio >= 5),
            check("TCP: KS learned vs analytic SS sojourn (w+ = 0.693)", ks["SS"], "<= 0.1", ks["SS"] <= 0.1),
            check(f"TCP: KS learned vs analytic CA sojourn (median w+ = {ks['CA_w_plus']:.2f})", ks["CA"], "<= 0.1",
                  ks["CA"] <= 0.1),
            check("TCP: mode occupancy, max |learned - true|", e3["occupancy_max_error"], "<= 0.05",
                  e3["occupancy_max_error"] <= 0.05),
            check(f"TCP: censoring ablation, KS (mean of SS, CA; {len(ABLATION_SEEDS)} paired refits) without minus "
                  "with censoring", ablation["difference"], "> 0", ablation["difference"] > 0)]
    extra = {"ks_analytic": ks, "censoring_ablation": ablation,
             "m3_no_usage_term": {k: fits["NHA m=3, no usage term"].evaluation.get(k)
                                  for k in ("v_measure", "homogeneity", "completeness", "modes_kept", "test_mse")},
             "v_measure_ss_ca_only": nha_tcp.restricted_v_measure(nha3),
             "m5": {k: nha5.evaluation.get(k) for k in ("v_measure", "homogeneity", "completeness", "modes_kept")},
             "nha_m3_eval": e3}
    for name, outcome in (("nha_m3", nha3), ("node", node)):
        plot_reconstruction(out_dir / f"tcp_{name}.png", data.test_segments, outcome.prediction, outcome.labels,
                            data.normaliser, f"TCP {name}")
    speed = simulation_speed(nha3, data, b["runs"], out_dir)
    rows += [{"check": "speed: NHA m=3 epochs/s (full batch, jitted)", "value": round(e3["epochs_per_second"], 2),
              "pass line": "-", "pass": None},
             {"check": "speed: NODE epochs/s (full batch, jitted)",
              "value": round(node.evaluation["epochs_per_second"], 2), "pass line": "-", "pass": None},
             {"check": f"speed: simulate {b['runs']} TCP runs x 2000 steps, one vmapped call (s)",
              "value": round(speed, 3), "pass line": "-", "pass": None}]
    return rows, table, extra


def simulation_speed(outcome, data, runs: int, out_dir: Path) -> float:
    """Seconds of one vmapped `simulate` call of `runs` TCP runs, after a first call that compiles; also draws
    the simulation figure."""
    model = outcome.model
    forward, _ = learned_to_true(model, data)
    first = outcome.labels[0]
    x0, mode0 = np.zeros((runs, 2)), np.full(runs, first)
    simulate_many(model, x0, mode0, data.test.t[0], jax.random.PRNGKey(1))
    started = time.perf_counter()
    out = simulate_many(model, x0, mode0, data.test.t[0], jax.random.PRNGKey(2))
    seconds = time.perf_counter() - started
    true = data.generator.generate(3, 99)
    plot_simulation(out_dir / "tcp_simulation.png", true.t[0], true.x, true.mode, out["x"],
                    forward[out["mode"]], "TCP")
    return seconds


def mixing_rows(b: dict) -> tuple[list[dict], dict]:
    from envs.hybrid.switching_linear import SwitchingLinear, region
    from worldmodels.nha import state_gate
    from worldmodels.nha.training import fit_full_batch

    system = SwitchingLinear()
    data = system.generate(b["mix_trajectories"], SEED)
    reports = {}
    for gate in ("categorical", "softmax"):
        print(f"[nha] mode mixing: {gate} gate ({b['mix_epochs']} epochs)", flush=True)
        config = state_gate.GateConfig(gate=gate)
        params = state_gate.init(config, jax.random.PRNGKey(SEED), 2)
        result = fit_full_batch(state_gate.loss_fn(config, data.t, data.x), params, state_gate.optimizer(config),
                                b["mix_epochs"], jax.random.PRNGKey(SEED + 1))
        reports[gate] = state_gate.gate_report(config, result.params, system.low, system.high, region)
        reports[gate]["final_loss"] = result.losses[-1]
    ste, soft = reports["categorical"], reports["softmax"]
    rows = [check("mixing: STE gate v-measure (100x100 grid)", ste["v_measure"], ">= 0.9", ste["v_measure"] >= 0.9),
            check("mixing: softmax / STE mean gate entropy", soft["mean_gate_entropy"] / max(
                ste["mean_gate_entropy"], 1e-12), ">= 2 (clearly higher)",
                soft["mean_gate_entropy"] >= 2 * ste["mean_gate_entropy"])]
    return rows, reports


def ball_rows(out_dir: Path, b: dict) -> tuple[list[dict], dict]:
    options = NHAFitOptions(epochs=b["ball_epochs"], event_steps=b["event_steps"], progress=False)
    data = load_data("hybrid:bouncing_ball", SEED, *b["ball"], 0.25)
    out = nha_ball.run_ball(data, options, SEED, b["node_epochs"])
    ratio = out["nha_mse_5s"] / out["node_mse_5s"]
    rows = [check("ball: NHA / NODE 5-s rollout MSE", ratio, "< 0.1", ratio < 0.1),
            check("ball: restitution from the learned jump map", out["restitution"], "0.8 +- 0.03",
                  abs(out["restitution"] - 0.8) <= 0.03)]
    plot_simulation(out_dir / "ball_rollouts.png", data.test.t[0], data.test.x, data.test.mode, out["nha_x"],
                    np.zeros(out["nha_x"].shape[:2], int), "bouncing ball: true (top) vs NHA rollouts (bottom)")
    extra = {k: v for k, v in out.items() if k.endswith("s") and "mse" in k} | {"restitution": out["restitution"],
             "nha_eval": out["nha"].evaluation, "node_eval": out["node"].evaluation}
    return rows, extra


def run(out_dir: Path, quick: bool = False) -> SuiteResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    b = budgets(quick)
    timings, details, rows = {}, {}, []
    started = time.perf_counter()
    tcp, tcp_table, details["tcp"] = tcp_rows(out_dir, b)
    timings["tcp_s"] = time.perf_counter() - started
    rows += tcp
    started = time.perf_counter()
    mixing, details["mixing"] = mixing_rows(b)
    timings["mixing_s"] = time.perf_counter() - started
    rows += mixing
    started = time.perf_counter()
    ball, details["ball"] = ball_rows(out_dir, b)
    timings["ball_s"] = time.perf_counter() - started
    rows += ball
    details["timings"] = timings
    (out_dir / "details.json").write_text(json.dumps(details, indent=2, default=_plain) + "\n")
    markdown = "\n\n".join([
        "## Checks against the pass lines" + (" (--quick: budgets too small to mean anything)" if quick else ""),
        markdown_table(rows), "## TCP models (test segments)", markdown_table(tcp_table),
        "## Section wall times (s)", markdown_table([{k: round(v, 1) for k, v in timings.items()}]),
        "Details (every metric, per-transition KS, occupancies): details.json. Figures: tcp_nha_m3.png, "
        "tcp_node.png, tcp_simulation.png, ball_rollouts.png."])
    return SuiteResult(rows + [{"model": r["model"], **{k: v for k, v in r.items() if k != "model"}}
                               for r in tcp_table], markdown)


def _plain(value):
    if hasattr(value, "item") and np.ndim(value) == 0:
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
