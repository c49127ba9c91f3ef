"""The benchmark suites by name. Each suite is a module of this package with one entry point,
`run(out_dir: Path, quick: bool) -> SuiteResult` (see report.py); a module is imported only when its suite is
asked for, so naming one suite never pays for the imports (JAX, MuJoCo, agents) of another.

`register_suite(name, suite)` adds one from elsewhere: a module name (with a `run`), a "module:function" string, a
function `(out_dir, quick) -> SuiteResult | rows | {"rows", "markdown"}`, or a tuple of training `Run`s. The
`HSRL_BENCHMARK_SUITES` environment variable registers suites kept in files, as `NAME=PATH.py[,NAME=PATH.py]`,
each file a module with a `run` like the built-in ones; a process started from another checkout (the
`--against` mode of scripts/benchmark.py) sees them too.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

SUITES: dict[str, Any] = {
    "smoke": "scripts.benchmarks.smoke",
    "ppo": "scripts.benchmarks.ppo",
    "ppo-speed": "scripts.benchmarks.ppo_speed",
    "sac-speed": "scripts.benchmarks.sac_speed",
    "kernels": "scripts.benchmarks.kernels",
    "pomdp": "scripts.benchmarks.pomdp",
    "pomdp-speed": "scripts.benchmarks.pomdp_speed",
    "mujoco": "scripts.benchmarks.mujoco",
    "h2o": "scripts.benchmarks.h2o",
    "h2o-speed": "scripts.benchmarks.h2o_speed",
    "moorl-speed": "scripts.benchmarks.moorl_speed",
    "hybrid": "scripts.benchmarks.hybrid",
    "metra": "scripts.benchmarks.metra",
    "metra-speed": "scripts.benchmarks.metra_speed",
    "worldmodels-speed": "scripts.benchmarks.worldmodels_speed",
    "worldmodels": "scripts.benchmarks.worldmodels",
    "nha": "scripts.benchmarks.nha",
    "nha-mpc": "scripts.benchmarks.nha_mpc",
}

SUITES_VARIABLE = "HSRL_BENCHMARK_SUITES"


class UnknownSuiteError(ValueError):
    """A suite name that is not registered, or a suite file that cannot be loaded."""


def register_suite(name: str, suite: Any) -> None:
    """Add (or replace) a suite: a module name, "module:function", a function, or a tuple of training Runs."""
    SUITES[name] = suite


def suite_names() -> list[str]:
    return sorted({**SUITES, **_suites_from_environment()})


def check_name(name: str) -> None:
    """Refuse an unknown suite, suggesting the close names."""
    names = suite_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=2)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UnknownSuiteError(f"unknown suite {name!r}; {hint}available: {', '.join(names)}")


def load_suite(name: str) -> Callable:
    """The entry point `(out_dir, quick)` of suite `name`, importing its module now."""
    check_name(name)
    suite = {**SUITES, **_suites_from_environment()}[name]
    if isinstance(suite, tuple):
        from scripts.benchmarks.training import TrainingSuite

        return TrainingSuite(suite).run
    if isinstance(suite, str):
        module, _, function = suite.partition(":")
        return getattr(importlib.import_module(module), function or "run")
    if isinstance(suite, Path):
        return _load_file(name, suite).run
    return suite


def _suites_from_environment() -> dict[str, Path]:
    entries = [e for e in os.environ.get(SUITES_VARIABLE, "").split(",") if e.strip()]
    suites = {}
    for entry in entries:
        name, sep, path = entry.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UnknownSuiteError(f"{SUITES_VARIABLE} entry {entry!r} is not NAME=PATH.py")
        suites[name.strip()] = Path(path.strip())
    return suites


def _load_file(name: str, path: Path):
    if not path.is_file():
        raise UnknownSuiteError(f"suite {name!r}: file {path} ({SUITES_VARIABLE}) does not exist")
    spec = importlib.util.spec_from_file_location(f"hsrl_benchmark_suite_{name.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: the CLI finds the suite's check_options through it
    spec.loader.exec_module(module)
    return module
