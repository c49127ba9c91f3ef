"""The `shift:` family: a simulator whose dynamics are shifted from the real system's, for sim-to-real experiments.

    shift:HalfCheetah-v5?gravity=2.0            gym:HalfCheetah-v5 with twice the gravity
    shift:gym:Hopper-v5?friction=0.5&mass=1.2   an explicit gym: prefix; parameters combine
    shift:Walker2d-v5?action_noise=0.1          the simulator receives a + N(0, 0.1^2 I)
    shift:brax:ant?backend=spring&gravity=2     a Brax env; options that are not shift parameters go to the base env

Parameters, all optional: `gravity`, `friction` (all three coefficients of every geom) and `mass` (body masses and
inertias together: a density scaling, approximated on the compiled model) are multipliers > 0; `action_noise` is
the std (>= 0) of Gaussian noise added to the action inside the env (envs/wrappers/action_noise.py), so a
collector stores the clean action. The edits are made on the live model of each env built, a MuJoCo `MjModel`
edited in place (`GymnasiumEnv(model_edit=...)`) or a Brax `System` replaced (`BraxEnv(system_edit=...)`); the
installed XML files are never touched. A base env without such a model (`jax:`, `pomdp:`, gym:CartPole-v1) is
refused when the env is made, not mid-run.

The env's `name` (and its spec's) is the shift string, so logs say which simulator ran. `base_env(env_string)`
gives the unshifted env string, the usual evaluation env of a run trained on a shifted simulator.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import Any

import gymnasium

from envs.families import make_brax_env, make_gymnasium_env
from envs.gymnasium_host import GymnasiumEnv, ModelEditError
from envs.registry import Env, EnvNotFoundError, family_names, parse_env_string, register_family
from envs.wrappers.action_noise import ActionNoise, GymnasiumActionNoise

MULTIPLIERS = ("gravity", "friction", "mass")
SHIFT_PARAMETERS = (*MULTIPLIERS, "action_noise")
SUPPORTED = "gymnasium MuJoCo envs (shift:HalfCheetah-v5, shift:gym:Hopper-v5) and brax envs (shift:brax:ant)"
# The hooks a shift sets itself; a second edit from the caller would silently compete with it.
OWN_HOOKS = ("model_edit", "system_edit", "env_wrapper")
_TYPO_CUTOFF = 0.75  # difflib ratio above which an unknown option is taken for a misspelt shift parameter


class ShiftError(EnvNotFoundError):
    """A `shift:` string with an unknown parameter, a value out of range, or a base env whose simulator cannot be
    edited; the message names what is allowed."""


@dataclass(frozen=True)
class Shift:
    """How far the simulator is from the real system; the defaults leave it unchanged."""

    gravity: float = 1.0
    friction: float = 1.0
    mass: float = 1.0
    action_noise: float = 0.0


# --- the family ---------------------------------------------------------------------------------------------------

@register_family("shift")
def make_shift_env(env_id: str, kwargs: dict[str, Any]) -> Env:
    name = shift_name(env_id, kwargs)
    family, base_id = split_base(env_id)
    shift, base_options = split_options(kwargs, name)
    try:
        if family == "brax":
            return _shifted_brax(base_id, shift, base_options, name)
        return _shifted_gymnasium(base_id, shift, base_options, name)
    except TypeError as error:
        if not base_options:
            raise
        raise ShiftError(f"unknown options {sorted(base_options)} in {name!r}: shift parameters are "
                         f"{', '.join(SHIFT_PARAMETERS)}, other options go to {family}:{base_id}, which refused "
                         f"them ({error})") from None


def base_env(env_string: str) -> str | None:
    """The unshifted env string of a `shift:` string, None for any other string:
    `shift:HalfCheetah-v5?gravity=2.0` -> `gym:HalfCheetah-v5`, `shift:brax:ant?backend=spring&gravity=2` ->
    `brax:ant?backend=spring` (options of the base env stay)."""
    if not isinstance(env_string, str) or env_string.partition(":")[0] != "shift":
        return None
    _, env_id, kwargs = parse_env_string(env_string)
    family, base_id = split_base(env_id)
    split_options(kwargs, env_string)  # a bad shift string is refused here too, not turned into a base env
    query = env_string.partition("?")[2]
    items = query.split("&") if query else []
    kept = [item for item in items if item.partition("=")[0] not in SHIFT_PARAMETERS]
    return f"{family}:{base_id}" + (f"?{'&'.join(kept)}" if kept else "")


def split_base(env_id: str) -> tuple[str, str]:
    """`HalfCheetah-v5` and `gym:HalfCheetah-v5` -> `("gym", "HalfCheetah-v5")`, `brax:ant` -> `("brax", "ant")`;
    a family without an editable simulator is refused."""
    prefix, has_colon, rest = env_id.partition(":")
    if not has_colon or prefix not in family_names():
        return "gym", env_id  # a bare gymnasium id, or `module:Id` of a user's gymnasium package
    if prefix not in ("gym", "brax") or not rest:
        raise ShiftError(f"shift: cannot edit the simulator of {env_id!r}; it supports {SUPPORTED}")
    return prefix, rest


def split_options(kwargs: dict[str, Any], env_string: str) -> tuple[Shift, dict[str, Any]]:
    """The checked shift parameters, and the other options (for the base env)."""
    values = {key: checked_value(key, value, env_string) for key, value in kwargs.items() if key in SHIFT_PARAMETERS}
    others = {key: value for key, value in kwargs.items() if key not in SHIFT_PARAMETERS}
    for key in others:
        if key in OWN_HOOKS:
            raise ShiftError(f"{env_string!r} sets its own {key}; for a custom edit make the base env with it")
        close = difflib.get_close_matches(key, SHIFT_PARAMETERS, n=1, cutoff=_TYPO_CUTOFF)
        if close:
            raise ShiftError(f"unknown shift parameter {key!r} in {env_string!r}; did you mean {close[0]}? "
                             f"shift parameters: {', '.join(SHIFT_PARAMETERS)}")
    return Shift(**values), others


def checked_value(key: str, value: Any, env_string: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ShiftError(f"{key} must be a finite number in {env_string!r}, got {value!r}")
    if key in MULTIPLIERS and value <= 0:
        raise ShiftError(f"{key} is a multiplier and must be > 0 in {env_string!r}, got {value!r}")
    if key == "action_noise" and value < 0:
        raise ShiftError(f"{key} is a noise std and must be >= 0 in {env_string!r}, got {value!r}")
    return float(value)


def shift_name(env_id: str, kwargs: dict[str, Any]) -> str:
    """The shift string back from its parts (options that a string cannot hold, like functions, left out)."""
    items = [f"{key}={value}" for key, value in kwargs.items() if isinstance(value, int | float | str)]
    return f"shift:{env_id}" + (f"?{'&'.join(items)}" if items else "")


# --- gymnasium MuJoCo ---------------------------------------------------------------------------------------------

class ShiftedGymnasiumEnv(GymnasiumEnv):
    """A GymnasiumEnv named by its shift string, in its `name` and its spec's."""

    def __init__(self, shift_string: str, env_id: str, **options: Any):
        super().__init__(env_id, **options)
        self.shift_string = shift_string
        self._spec = dataclasses.replace(self._spec, name=shift_string)

    @property
    def name(self) -> str:
        return self.shift_string

    def __repr__(self) -> str:
        return f"ShiftedGymnasiumEnv({self.shift_string!r})"


def _shifted_gymnasium(env_id: str, shift: Shift, options: dict[str, Any], name: str) -> ShiftedGymnasiumEnv:
    def edit(model) -> None:
        edit_mujoco_model(model, shift, name)

    def add_noise(env: gymnasium.Env) -> gymnasium.Env:
        return GymnasiumActionNoise(env, shift.action_noise) if shift.action_noise > 0 else env

    try:
        return ShiftedGymnasiumEnv(name, env_id, model_edit=edit, env_wrapper=add_noise, **options)
    except ModelEditError as error:
        # Our edit returns None, so the only refusal left is an env without a simulator model.
        raise ShiftError(f"shift: cannot edit gym:{env_id}, which has no MuJoCo model; it supports "
                         f"{SUPPORTED}") from error
    except (gymnasium.error.Error, ModuleNotFoundError):
        make_gymnasium_env(env_id, {})  # an unknown id or a missing simulator: the gym: family's one-line error
        raise


def edit_mujoco_model(model, shift: Shift, name: str) -> None:
    """Scale a live `mujoco.MjModel` in place (see the module docstring)."""
    import mujoco

    if not isinstance(model, mujoco.MjModel):
        raise ShiftError(f"shift: cannot edit {name!r}: its model is a {type(model).__name__}, not a MuJoCo "
                         f"MjModel; it supports {SUPPORTED}")
    model.opt.gravity[:] *= shift.gravity
    model.geom_friction[:] *= shift.friction
    if shift.mass != 1.0:
        model.body_mass[:] *= shift.mass
        model.body_inertia[:] *= shift.mass
        # Constants derived from the masses at compile time (subtree masses, the solver's inverse weights and mean
        # inertia) would otherwise still describe the old bodies; MuJoCo recomputes them at qpos0.
        mujoco.mj_setConst(model, mujoco.MjData(model))


# --- brax -------------------------------------------------------------------------------------------------------

def _shifted_brax(env_id: str, shift: Shift, options: dict[str, Any], name: str) -> Env:
    env = make_brax_env(env_id, {**options, "system_edit": lambda sys: edit_brax_system(sys, shift)})
    env.name = name
    return ActionNoise(env, shift.action_noise) if shift.action_noise > 0 else env


def edit_brax_system(sys, shift: Shift):
    """The scaled Brax `System`. Both copies of each quantity are scaled: Brax's own fields (`gravity`,
    `link.inertia`), which the spring, positional and generalized pipelines read, and the MJX model's
    (`opt.gravity`, `body_mass`, `body_inertia`), which the mjx pipeline reads; every pipeline's contacts take
    their friction from `geom_friction`."""
    return sys.tree_replace({
        "gravity": sys.gravity * shift.gravity,
        "opt.gravity": sys.opt.gravity * shift.gravity,
        "geom_friction": sys.geom_friction * shift.friction,
        "link.inertia.mass": sys.link.inertia.mass * shift.mass,
        "link.inertia.i": sys.link.inertia.i * shift.mass,
        "body_mass": sys.body_mass * shift.mass,
        "body_inertia": sys.body_inertia * shift.mass,
    })
