"""Previous-action inputs, where older code imports them from; the wrapper lives in envs/wrappers/.

`PreviousActionObservation` is not POPGym-specific (any JaxEnv with Discrete or flat Box actions), so it moved
to envs/wrappers/previous_action.py; the names stay importable from here. `is_popgym_spec` stays here because
it is about this package's envs.
"""

from __future__ import annotations

from envs.wrappers.previous_action import PreviousActionObservation, action_size, encode_action


def is_popgym_spec(spec) -> bool:
    """Whether an env spec is one of the `pomdp:` POPGym ports (by name). Agents read
    `spec.previous_action_input` instead, which the ports set."""
    from envs.pomdp.family import POMDP_ENVS, canonical_name

    return canonical_name(spec.name) in POMDP_ENVS


__all__ = ["PreviousActionObservation", "action_size", "encode_action", "is_popgym_spec"]
