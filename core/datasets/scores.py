"""D4RL normalised scores: 100 * (R - random) / (expert - random), with D4RL's reference returns.

The reference returns are those of D4RL (Fu et al. 2020, `d4rl/infos.py`), the same for every dataset kind and
version of an env. They were measured on the MuJoCo v2 envs of gym; the gymnasium v5 envs changed details of the
dynamics and the observations, so a score on a v5 env is only approximately comparable with published D4RL scores.
"""

from __future__ import annotations

import re

from core.datasets.errors import DatasetError

# (random return, expert return) of D4RL's locomotion envs.
D4RL_REFERENCE_RETURNS: dict[str, tuple[float, float]] = {
    "halfcheetah": (-280.178953, 12135.0),
    "hopper": (-20.272305, 3234.3),
    "walker2d": (1.629008, 4592.3),
    "ant": (-325.6, 3879.7),
}

# Only gymnasium's MuJoCo envs (or a bare D4RL name) share D4RL's rewards; Brax's ant, say, does not.
_FAMILIES_WITH_D4RL_REWARDS = ("", "gym")


def env_key(env_name: str) -> str | None:
    """`halfcheetah` for `halfcheetah`, `HalfCheetah-v5`, `gym:HalfCheetah-v5?x=1`, `halfcheetah-medium-v2`."""
    family, _, env_id = env_name.partition(":") if ":" in env_name else ("", "", env_name)
    if family.lower() not in _FAMILIES_WITH_D4RL_REWARDS:
        return None
    base = re.split(r"[-?]", env_id.strip(), maxsplit=1)[0].lower()
    return base if base in D4RL_REFERENCE_RETURNS else None


def reference_returns(env_name: str) -> tuple[float, float] | None:
    """D4RL's (random, expert) returns for the env named, or None for an env D4RL has none for.

    On gymnasium's v5 envs these give approximate comparability only (D4RL measured them on gym's v2 envs).
    """
    key = env_key(env_name)
    return None if key is None else D4RL_REFERENCE_RETURNS[key]


def normalize(episode_return: float, ref_min_score: float, ref_max_score: float) -> float:
    """100 at the expert reference, 0 at the random one."""
    if ref_max_score == ref_min_score:
        raise DatasetError(f"reference returns are equal ({ref_min_score}): no normalised score can be computed")
    return 100.0 * (float(episode_return) - ref_min_score) / (ref_max_score - ref_min_score)


def normalized_score(env_name: str, episode_return: float) -> float:
    """D4RL's normalised score of an episode return on `env_name` (e.g. halfcheetah, 4000 -> 34.48).

    On gymnasium's v5 envs the D4RL references give approximate comparability only: they were measured on the
    v2 envs, whose dynamics and observations differ in details.
    """
    refs = reference_returns(env_name)
    if refs is None:
        known = ", ".join(sorted(D4RL_REFERENCE_RETURNS))
        raise DatasetError(f"no D4RL reference returns for env {env_name!r}; D4RL has them for: {known}")
    return normalize(episode_return, *refs)
