"""The `hybrid:` family: hybrid dynamical systems.

    hybrid:bouncing_ball_paddle        a steppable JaxEnv (control: the paddle's push every 0.1 s)
    hybrid:unicycle_resources          a steppable JaxEnv (control: drive a unicycle to the nearest of 5 resources)
    hybrid:reno_tcp, hybrid:switching_linear, hybrid:bouncing_ball
                                       data generators, not steppable envs: `envs.make` refuses them with a line
                                       that says how to get their data

A data generator is built with `make_generator("reno_tcp", **options)` and produces trajectories with
`.generate(count, seed)`; `scripts/fit.py --data hybrid:reno_tcp` fits a model to them directly.
"""

from __future__ import annotations

from typing import Any

from envs.hybrid.bouncing_ball import BouncingBall
from envs.hybrid.paddle import BouncingBallPaddle
from envs.hybrid.reno_tcp import RenoTCP
from envs.hybrid.switching_linear import SwitchingLinear
from envs.hybrid.unicycle import UnicycleResources
from envs.registry import EnvNotFoundError, not_found, register_family

GENERATORS = {"reno_tcp": RenoTCP, "switching_linear": SwitchingLinear, "bouncing_ball": BouncingBall}
ENVS = {"bouncing_ball_paddle": BouncingBallPaddle, "unicycle_resources": UnicycleResources}


def make_generator(name: str, **options: Any):
    """The data generator `name` (a key of GENERATORS), with its fields set by `options`."""
    if name not in GENERATORS:
        raise not_found("hybrid data generator", name, list(GENERATORS), f"hybrid:{name}")
    try:
        return GENERATORS[name](**options)
    except TypeError as error:
        raise EnvNotFoundError(f"bad options {sorted(options)} for hybrid:{name}: {error}") from None


@register_family("hybrid")
def make_hybrid_env(env_id: str, kwargs: dict[str, Any]) -> BouncingBallPaddle | UnicycleResources:
    if env_id in GENERATORS:
        raise EnvNotFoundError(
            f"hybrid:{env_id} is a data generator, not a steppable env: fit it with "
            f"`scripts/fit.py --data hybrid:{env_id}`, or get trajectories with "
            f"`envs.hybrid.make_generator({env_id!r}).generate(count, seed)`")
    if env_id not in ENVS:
        raise not_found("hybrid env", env_id, [*ENVS, *GENERATORS], f"hybrid:{env_id}")
    return ENVS[env_id](**kwargs)
