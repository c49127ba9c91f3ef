"""The `kernels` suite: linear_recurrence back-ends against the memory-bandwidth floor, and one memory layer of
each kind against a GRU, measured side by side in one run.

    python scripts/benchmark.py kernels [--out-dir DIR] [--quick] [--overwrite]

Part 1, for T in {1k, 16k, 128k}, a c64 S5-like recurrence (constant decay [P], inputs [T, B, P], resets [T, B]):
elements/s forward and forward+backward per method, and the fraction of the memory bandwidth measured in the
same process by a large array copy. Minimal traffic per element: forward 2s (read b, write x), backward
4s more, s = 8 bytes for complex64. `auto` is reported as the method it resolves to.

Part 2: forward+backward (grad of a loss w.r.t. params and inputs) of one S5, S4D, selective, GRU and LSTM layer
(S4D and selective also as computed before their chunked kernels) of width 256 at T = 1024 and 8192, B = 8, as
tokens/s and as time ratios to the GRU; first-call compile time too.

Timing: time.perf_counter around block_until_ready, warm-up (compile) excluded, median of a few repeats.
"""

from __future__ import annotations

import json
import pathlib
import sys

if __package__ in (None, ""):  # run as a file: the repo root replaces this folder, whose names shadow packages
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[2])

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import kernels  # noqa: E402
from kernels import recurrence  # noqa: E402
from scripts.benchmarks.report import SuiteResult  # noqa: E402
from scripts.benchmarks.timing import median_time  # noqa: E402

COMPLEX_BYTES = 8
FORWARD_BYTES = 2 * COMPLEX_BYTES  # read b, write x
FORWARD_BACKWARD_BYTES = FORWARD_BYTES + 4 * COMPLEX_BYTES
RECURRENCE_BATCH, RECURRENCE_STATES = 8, 64
LAYER_WIDTH, LAYER_BATCH = 256, 8
# Rows are (label, memory, options). The "(before)" rows form every per-step state of the sequence, as S4D and the
# selective layer did before their current kernels: S4D in chunks of one step, selective in one chunk of T;
# "selective, chunks of 16" is the kernel the selective layer's fused loop replaced, and "selective, XLA loops" the
# fused loop as XLA loops, which the hand-written CPU kernel (kernels/native) replaced.
LAYERS = (
    ("s5", "s5", dict(hidden_size=LAYER_WIDTH, ssm_size=2 * 128)),
    ("s4d", "s4d", dict(hidden_size=LAYER_WIDTH, num_modes=8)),
    ("s4d (before)", "s4d", dict(hidden_size=LAYER_WIDTH, num_modes=8, chunk_size=1)),
    # N/2 = 8 and (selective) expand=1, N=8 keep the "before" rows' per-step arrays at 0.5-1 GB for T=8192.
    ("selective", "selective", dict(hidden_size=LAYER_WIDTH, state_size=8, expand=1)),
    ("selective, XLA loops (before)", "selective", dict(hidden_size=LAYER_WIDTH, state_size=8, expand=1,
                                                      native=False)),
    ("selective, chunks of 16 (before)", "selective", dict(hidden_size=LAYER_WIDTH, state_size=8, expand=1,
                                                         fused=False)),
    ("selective (before)", "selective", dict(hidden_size=LAYER_WIDTH, state_size=8, expand=1, fused=False,
                                             chunk_size=1 << 20)),
    ("gru", "gru", dict(hidden_size=LAYER_WIDTH)),
    ("lstm", "lstm", dict(hidden_size=LAYER_WIDTH)),
)


def measure_bandwidth(repeats: int) -> float:
    """Bytes/s of a large array copy (y = x + 1: one read, one write), 512 MB moved per call."""
    x = jnp.ones((64 * 2**20,), jnp.float32)
    seconds, _ = median_time(jax.jit(lambda x: x + 1.0), x, repeats=repeats)
    return 2 * x.nbytes / seconds


def recurrence_inputs(length: int):
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    shape = (length, RECURRENCE_BATCH, RECURRENCE_STATES)
    decay = jnp.exp(jax.lax.complex(-jnp.linspace(1e-3, 0.1, RECURRENCE_STATES), jnp.linspace(0, 3, RECURRENCE_STATES)))
    b = jax.lax.complex(jax.random.normal(keys[0], shape), jax.random.normal(keys[1], shape))
    resets = jax.random.bernoulli(keys[2], 0.01, shape[:2])
    return decay, b, resets


def bench_recurrence(length: int, bandwidth: float, repeats: int) -> list[dict]:
    decay, b, resets = recurrence_inputs(length)
    elements = b.size
    rows = []
    for method in ("sequential", "parallel", "chunked", "auto"):
        forward = jax.jit(lambda a, b, r, method=method: kernels.linear_recurrence(a, b, r, method=method))
        loss = lambda a, b, r, method=method: jnp.sum(jnp.abs(kernels.linear_recurrence(a, b, r, method=method)) ** 2)
        forward_backward = jax.jit(jax.grad(loss, argnums=(0, 1)))
        fwd_s, _ = median_time(forward, decay, b, resets, repeats=repeats)
        fb_s, fb_first = median_time(forward_backward, decay, b, resets, repeats=repeats)
        rows.append({
            "kind": "recurrence", "T": length, "method": method, "copy_bandwidth_GBps": bandwidth / 1e9,
            "resolves_to": recurrence.default_method() if method == "auto" else method,
            "fwd_elements_per_s": elements / fwd_s,
            "fwd_bandwidth_fraction": elements * FORWARD_BYTES / fwd_s / bandwidth,
            "fwdbwd_elements_per_s": elements / fb_s,
            "fwdbwd_bandwidth_fraction": elements * FORWARD_BACKWARD_BYTES / fb_s / bandwidth,
            "fwdbwd_compile_s": fb_first - fb_s,
        })
    return rows


def bench_layers(length: int, repeats: int) -> list[dict]:
    xs = jax.random.normal(jax.random.PRNGKey(1), (length, LAYER_BATCH, LAYER_WIDTH))
    resets = jax.random.bernoulli(jax.random.PRNGKey(2), 0.01, (length, LAYER_BATCH))
    rows = []
    for name, memory, options in LAYERS:
        cell = kernels.make_memory(memory, **options)
        params = cell.init(jax.random.PRNGKey(0), LAYER_WIDTH)
        carry = cell.initialize_carry((LAYER_BATCH,))

        def loss(params, xs, cell=cell, carry=carry):
            return jnp.mean(cell.scan(params, carry, xs, resets)[1] ** 2)

        seconds, first = median_time(jax.jit(jax.grad(loss, argnums=(0, 1))), params, xs, repeats=repeats)
        rows.append({"kind": "layer", "T": length, "layer": name, "fwdbwd_s": seconds,
                     "tokens_per_s": length * LAYER_BATCH / seconds, "compile_s": first - seconds})
    gru_seconds = next(r["fwdbwd_s"] for r in rows if r["layer"] == "gru")
    for row in rows:
        row["time_ratio_to_gru"] = row["fwdbwd_s"] / gru_seconds
        row["speedup_over_gru"] = gru_seconds / row["fwdbwd_s"]
    return rows


def measure(out_dir: pathlib.Path | None, quick: bool) -> list[dict]:
    """All measurements as rows; with `out_dir`, also kernel_benchmark.json and kernel_benchmark.md there.

    quick: fewer repeats, and the largest sizes (T=128k recurrence, T=8192 layers) are skipped.
    """
    repeats = 2 if quick else 3
    bandwidth = measure_bandwidth(repeats)  # T=1k fits in cache, so its fractions can exceed 1
    rows: list[dict] = [{"kind": "machine", "backend": jax.default_backend(), "device": str(jax.devices()[0]),
                         "copy_bandwidth_GBps": bandwidth / 1e9, "auto_method": recurrence.default_method()}]
    for length in (1024, 16384) if quick else (1024, 16384, 131072):
        # Re-probed next to each block: on a shared machine the available bandwidth drifts during the run.
        rows += bench_recurrence(length, measure_bandwidth(repeats), repeats)
    for length in (1024,) if quick else (1024, 8192):
        rows += bench_layers(length, repeats)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "kernel_benchmark.json").write_text(json.dumps(rows, indent=2))
        (out_dir / "kernel_benchmark.md").write_text(format_table(rows))
    return rows


def format_table(rows: list[dict]) -> str:
    machine = rows[0]
    lines = [
        f"backend {machine['backend']} ({machine['device']}); "
        f"copy bandwidth at start {machine['copy_bandwidth_GBps']:.2f} GB/s; auto -> {machine['auto_method']}",
        "",
        f"linear_recurrence, c64, B={RECURRENCE_BATCH}, P={RECURRENCE_STATES}, resets p=0.01; bytes/element: "
        f"fwd {FORWARD_BYTES}, fwd+bwd {FORWARD_BACKWARD_BYTES}",
        "",
        "| T | method | fwd Mel/s | fwd BW frac | fwd+bwd Mel/s | fwd+bwd BW frac | copy GB/s | fwd+bwd compile s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["kind"] == "recurrence":
            method = r["method"] if r["method"] != "auto" else f"auto ({r['resolves_to']})"
            lines.append(f"| {r['T']} | {method} | {r['fwd_elements_per_s'] / 1e6:.1f}"
                         f" | {r['fwd_bandwidth_fraction']:.2f} | {r['fwdbwd_elements_per_s'] / 1e6:.1f}"
                         f" | {r['fwdbwd_bandwidth_fraction']:.2f}"
                         f" | {r['copy_bandwidth_GBps']:.2f} | {r['fwdbwd_compile_s']:.2f} |")
    lines += [
        "",
        f"one layer, width {LAYER_WIDTH}, B={LAYER_BATCH}, forward+backward (S5: P=128; S4D: N/2=8; selective: N=8, "
        "expand 1; (before): every per-step state formed, as before the chunked kernels; selective, chunks of 16: "
        "the chunked kernel the fused loop replaced; selective, XLA loops: the fused loop as XLA loops, which the "
        "C++ kernel of kernels/native replaced)",
        "",
        "| T | layer | fwd+bwd ms | tokens/s | time / GRU | speed-up over GRU | first call - median, s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["kind"] == "layer":
            lines.append(f"| {r['T']} | {r['layer']} | {r['fwdbwd_s'] * 1e3:.1f} | {r['tokens_per_s']:.0f}"
                         f" | {r['time_ratio_to_gru']:.2f} | {r['speedup_over_gru']:.2f}x | {r['compile_s']:.2f} |")
    return "\n".join(lines) + "\n"


def run(out_dir: pathlib.Path | None, quick: bool) -> SuiteResult:
    """The suite's entry point: the rows, and these tables as the report body."""
    rows = measure(out_dir, quick)
    return SuiteResult(rows, format_table(rows))


if __name__ == "__main__":
    from scripts.benchmark import run_alone

    run_alone("kernels")
