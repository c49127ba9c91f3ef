"""The built-in env families: `jax:` (our ports), `gym:` (any gymnasium id), `brax:`, `pomdp:` (envs.pomdp) and
`hybrid:` (envs.hybrid)."""

from __future__ import annotations

import re
from typing import Any

import gymnasium

from envs.brax_adapter import BraxEnv
from envs.classic import CartPole, CombinationLock, Pendulum, PointPlane
from envs.gymnasium_host import GymnasiumEnv, resolve_spec
from envs.hybrid import family as _hybrid_family  # noqa: F401  (registers the hybrid: family)
from envs.pomdp import family as _pomdp_family  # noqa: F401  (registers the pomdp: family)
from envs.protocol import JaxEnv
from envs.registry import EnvDependencyError, EnvNotFoundError, not_found, register_family

JAX_ENVS: dict[str, type[JaxEnv]] = {
    "CartPole-v1": CartPole,
    "CombinationLock-v0": CombinationLock,
    "Pendulum-v1": Pendulum,
    "PointPlane-v0": PointPlane,
}

_VERSION = re.compile(r"-v\d+$")


@register_family("jax")
def make_jax_env(env_id: str, kwargs: dict[str, Any]) -> JaxEnv:
    # Our ports have one version each, so the suffix is optional: `jax:Pendulum` is `jax:Pendulum-v1`.
    by_base_name = {_VERSION.sub("", name): cls for name, cls in JAX_ENVS.items()}
    cls = JAX_ENVS.get(env_id) or by_base_name.get(env_id)
    if cls is None:
        raise not_found("jax env", env_id, list(JAX_ENVS), f"jax:{env_id}")
    return cls(**kwargs)


@register_family("gym")
def make_gymnasium_env(env_id: str, kwargs: dict[str, Any]) -> GymnasiumEnv:
    module = env_id.rpartition(":")[0]
    try:
        registered = resolve_spec(env_id)
    except ModuleNotFoundError as error:
        # Only a missing *registering* module means "not found"; a missing dependency inside it is the user's bug.
        missing = error.name or ""
        if not module or not (module == missing or module.startswith(missing + ".")):
            raise
        raise EnvNotFoundError(f"cannot import module {module!r} for 'gym:{env_id}': {error}") from error
    except gymnasium.error.Error as error:
        name = env_id.rpartition(":")[2]
        raise not_found("gymnasium id", name, list(gymnasium.registry), f"gym:{env_id}") from error
    # Errors from here on (bad kwargs, a missing simulator) are real errors of a known env, not a lookup miss.
    try:
        return GymnasiumEnv(env_id, **kwargs)
    except gymnasium.error.DependencyNotInstalled as error:
        raise EnvDependencyError(missing_dependency(f"gym:{env_id}", registered.entry_point, error)) from error


def missing_dependency(env_string: str, entry_point: Any, error: gymnasium.error.DependencyNotInstalled) -> str:
    """One line naming the missing package and what installs it: the gymnasium extra for gymnasium's own envs."""
    cause = error.__cause__
    missing = cause.name if isinstance(cause, ModuleNotFoundError) and cause.name else None
    if isinstance(entry_point, str) and entry_point.startswith("gymnasium.envs."):
        extra = entry_point.split(".")[2].replace("_", "-")  # gymnasium.envs.box2d.car_racing:CarRacing -> box2d
        return f"{env_string} needs {missing or extra}, which is not installed (pip install 'gymnasium[{extra}]')"
    hint = str(error).strip().splitlines()[0] if str(error).strip() else "see the env's documentation"
    return f"{env_string} needs {missing or 'a package'}, which is not installed ({hint})"


@register_family("brax")
def make_brax_env(env_id: str, kwargs: dict[str, Any]) -> BraxEnv:
    from brax import envs as brax_envs

    names = list(getattr(brax_envs, "_envs", {}))  # brax keeps its registry private; best effort for the hint
    if names and env_id not in names:
        raise not_found("brax env", env_id, names, f"brax:{env_id}")
    return BraxEnv(env_id, **kwargs)
