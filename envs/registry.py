"""One name string -> one environment: `FAMILY:ID[?key=value&key2=value2]`.

    jax:CartPole-v1          our JAX ports (the `-v1` may be left out)
    jax:Pendulum?g=9.81      keyword arguments go to the constructor
    gym:HalfCheetah-v5       any gymnasium id, host-stepped; kwargs go to gymnasium.make
    gym:my_pkg.envs:Maze-v0  `module:Id`: gymnasium imports my_pkg.envs, which registers Maze-v0
    brax:ant?backend=spring  a raw brax env
    pomdp:RepeatPreviousEasy our JAX ports of POPGym (envs/pomdp)
    shift:HalfCheetah-v5?gravity=2.0&action_noise=0.1
                             a dynamics-shifted gym: MuJoCo or brax: env (`shift:brax:ant?gravity=2`): gravity,
                             friction and mass multipliers, action noise; see envs/shift.py
    hybrid:bouncing_ball_paddle  hybrid systems (envs/hybrid); hybrid:reno_tcp and the other data generators
                             are refused with a line saying how to get their trajectories

Python values that a string cannot hold go to `make` as keywords, merged with the string's options:
`envs.make("gym:Hopper-v5", model_edit=fn)` (a MuJoCo model edit, see envs/gymnasium_host.py),
`envs.make("gym:Hopper-v5", env_wrapper=fn)` (a gymnasium wrapper around each env built, same module),
`envs.make("brax:ant", system_edit=fn)` (a Brax System edit, see envs/brax_adapter.py).

A family is a function `(id, kwargs) -> env` registered with `@register_family("name")`, so a new family is one
decorated function in its own module. Anything that cannot be resolved raises `EnvNotFoundError` with the close
names, because a typo in a long experiment command should cost seconds, not a run.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

from envs.gymnasium_host import GymnasiumEnv
from envs.protocol import JaxEnv

Env = JaxEnv | GymnasiumEnv
FamilyFn = Callable[[str, dict[str, Any]], Env]

_FAMILIES: dict[str, FamilyFn] = {}


class EnvNotFoundError(ValueError):
    """An env string that names no environment (or is malformed); the message lists close names."""


class EnvDependencyError(ValueError):
    """A known env whose simulator or extra is not installed; the message says what to install."""


def register_family(name: str) -> Callable[[FamilyFn], FamilyFn]:
    def decorate(fn: FamilyFn) -> FamilyFn:
        _FAMILIES[name] = fn
        return fn

    return decorate


def family_names() -> list[str]:
    return sorted(_FAMILIES)


def make(env_string: str, **options: Any) -> Env:
    """Build the env named by `FAMILY:ID[?k=v&...]`; `options` are more constructor keywords (see the module
    docstring), and may not repeat one the string sets."""
    family, env_id, kwargs = parse_env_string(env_string)
    if family not in _FAMILIES:
        raise not_found("env family", family, family_names(), env_string)
    twice = sorted(set(kwargs) & set(options))
    if twice:
        raise EnvNotFoundError(f"options {twice} given both in {env_string!r} and as keywords")
    kwargs = {**kwargs, **options}
    try:
        return _FAMILIES[family](env_id, kwargs)
    except TypeError as error:
        if not kwargs:
            raise
        # An option the env's constructor does not take: a user error, reported as one line.
        raise EnvNotFoundError(f"bad options {sorted(kwargs)} for {env_string!r}: {error}") from None


def is_jax_env(env: Any) -> bool:
    """True for envs that can be stepped inside jit/vmap; False for host-stepped ones (gymnasium)."""
    return isinstance(env, JaxEnv)


# --- parsing ----------------------------------------------------------------------------------------------------

_FAMILY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def parse_env_string(env_string: str) -> tuple[str, str, dict[str, Any]]:
    """`"brax:ant?backend=spring&n=2"` -> `("brax", "ant", {"backend": "spring", "n": 2})`."""
    if not isinstance(env_string, str):
        raise EnvNotFoundError(f"env string must be a str, got {type(env_string).__name__}")
    name, has_query, query = env_string.partition("?")
    family, has_colon, env_id = name.partition(":")
    if not has_colon or not _FAMILY_RE.fullmatch(family) or not env_id:
        raise EnvNotFoundError(
            f"malformed env string {env_string!r}: expected FAMILY:ID[?k=v&...] with FAMILY one of {family_names()}")
    kwargs = _parse_query(query, env_string) if has_query else {}
    return family, env_id, kwargs


def _parse_query(query: str, env_string: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for item in query.split("&"):
        key, has_eq, raw = item.partition("=")
        if not has_eq or not key.isidentifier():
            raise EnvNotFoundError(f"malformed option {item!r} in env string {env_string!r}: expected key=value")
        if key in kwargs:
            raise EnvNotFoundError(f"option {key!r} given twice in env string {env_string!r}")
        kwargs[key] = parse_value(raw)
    return kwargs


def parse_value(raw: str) -> int | float | bool | str:
    """Command-line style literals: `true/false` -> bool, then int, then float, else the string itself."""
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def not_found(what: str, name: str, candidates: list[str], env_string: str) -> EnvNotFoundError:
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(sorted(candidates)[:20])}"
    return EnvNotFoundError(f"unknown {what} {name!r} in {env_string!r}; {hint}")
