"""Two optimiser groups for SSM networks, as in S5 (Smith et al. 2023): SSM parameters at their own LR, no decay.

Every cell keeps its SSM parameters (eigenvalues, B, timescales; A_log, dt bias, D for the selective scan) under a
dict key named "ssm", so the partition is by path name and works for any pytree an agent builds around the cells.
"""

from __future__ import annotations

import jax
import optax

SSM_KEY = "ssm"


def _path_names(path) -> list[str]:
    names = []
    for entry in path:
        for attr in ("key", "name", "idx"):
            if hasattr(entry, attr):
                names.append(str(getattr(entry, attr)))
                break
    return names


def ssm_param_labels(params) -> object:
    """A pytree like `params` holding "ssm" for leaves under an "ssm" key and "rest" for all others."""
    return jax.tree_util.tree_map_with_path(
        lambda path, _: "ssm" if SSM_KEY in _path_names(path) else "rest", params
    )


def ssm_optimizer(
    base_lr: float | optax.Schedule,
    ssm_lr: float | optax.Schedule | None = None,
    weight_decay: float = 0.0,
    *,
    rest: optax.GradientTransformation | None = None,
) -> optax.GradientTransformation:
    """Adam at `ssm_lr` (default: `base_lr`, as in RL practice) with no weight decay on the "ssm" group;
    AdamW(`base_lr`, `weight_decay`) on everything else (or the given `rest` transformation).
    """
    ssm_lr = base_lr if ssm_lr is None else ssm_lr
    rest = rest if rest is not None else optax.adamw(base_lr, weight_decay=weight_decay)
    return optax.multi_transform({"ssm": optax.adam(ssm_lr), "rest": rest}, ssm_param_labels)
