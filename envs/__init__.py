"""Environments behind one functional protocol, adapters and the env families.

    import envs
    env = envs.make("jax:Pendulum")            # a JaxEnv: reset/step are pure and jit/vmap-able
    env = envs.make("gym:HalfCheetah-v5")      # a GymnasiumEnv: env.vector(num_envs, seed) steps on the host
    envs.is_jax_env(env)
    env = envs.ActionRepeat(envs.make("jax:CartPole-v1"), 4)   # wrappers: envs/wrapper.py, envs/wrappers/
    env = envs.make("gym:Hopper-v5", model_edit=fn)            # fn(model) edits each MuJoCo model in place
    env = envs.make("shift:Hopper-v5?gravity=1.5")             # a dynamics-shifted simulator (envs/shift.py)
    env = envs.make("pixels:pendulum_swingup?distractor=shapes")  # pixels with distractors (envs/pixels)

Importing the package also registers our JAX ports with gymnasium as `hsrl/<Id>`, and the POPGym ports of
`envs.pomdp` as `hsrl/<PopgymClassName>-v0`.
"""

# Importing the families module registers the jax:, gym:, brax: and pomdp: families; the shift module, shift:;
# envs.pixels.family, pixels:.
from envs import families as _families
from envs import shift as _shift  # noqa: F401
from envs.brax_adapter import BraxEnv
from envs.classic import CartPole, CombinationLock, Pendulum, PointPlane
from envs.gymnasium_host import GymnasiumEnv, HostVectorEnv
from envs.gymnasium_register import JaxToGymnasium, register_ports
from envs.pixels import PixelEnv
from envs.pixels import family as _pixels_family  # noqa: F401
from envs.pomdp import register_gymnasium_ids
from envs.protocol import EnvSpec, EnvState, JaxEnv, TimeStep
from envs.registry import EnvNotFoundError, family_names, is_jax_env, make, parse_env_string, register_family
from envs.spaces import Box, Discrete, MultiDiscrete, Space
from envs.wrapper import Wrapper
from envs.wrappers import ActionRepeat, PreviousActionObservation

register_ports(_families.JAX_ENVS)
register_gymnasium_ids()

__all__ = [
    "ActionRepeat",
    "Box",
    "BraxEnv",
    "CartPole",
    "CombinationLock",
    "Discrete",
    "EnvNotFoundError",
    "EnvSpec",
    "EnvState",
    "GymnasiumEnv",
    "HostVectorEnv",
    "JaxEnv",
    "JaxToGymnasium",
    "MultiDiscrete",
    "Pendulum",
    "PixelEnv",
    "PointPlane",
    "PreviousActionObservation",
    "Space",
    "TimeStep",
    "Wrapper",
    "family_names",
    "is_jax_env",
    "make",
    "parse_env_string",
    "register_family",
]
