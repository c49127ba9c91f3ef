"""Mode-conditioned vector fields F(z, q) = sum_k q_k f_k(z, u): one linear or small MLP field per mode,
zero-initialised (every mode starts at rest and the data pull them apart). An input mask restricts what the
fields read (for TCP, the window only); controls u, where the system has them, are extra inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

KINDS = ("linear", "mlp")


def init_flows(key: jax.Array, modes: int, dim: int, kind: str = "linear", hidden: int = 32,
               controls: int = 0) -> dict:
    inputs = dim + controls
    if kind == "linear":
        return {"A": jnp.zeros((modes, dim, inputs)), "b": jnp.zeros((modes, dim))}
    if kind != "mlp":
        raise ValueError(f"unknown flow kind {kind!r}; expected one of {KINDS}")
    scale = 1.0 / np.sqrt(inputs)
    return {"W1": scale * jax.random.normal(key, (modes, inputs, hidden)), "b1": jnp.zeros((modes, hidden)),
            "W2": jnp.zeros((modes, hidden, dim)), "b2": jnp.zeros((modes, dim))}


def input_mask(dim: int, reads: tuple[int, ...] | None) -> jax.Array:
    """[dim] 1.0 on the state coordinates the fields read (all when `reads` is None)."""
    if reads is None:
        return jnp.ones(dim)
    return jnp.zeros(dim).at[jnp.asarray(reads, int)].set(1.0)


def mode_fields(params: dict, z: jax.Array, u: jax.Array | None = None, mask: jax.Array | None = None) -> jax.Array:
    """[m, n]: every mode's field at `z [n]` (with inputs `u [k]`)."""
    zin = z if mask is None else z * mask
    inputs = zin if u is None or u.shape[-1] == 0 else jnp.concatenate([zin, u])
    if "A" in params:
        return jnp.einsum("mni,i->mn", params["A"], inputs) + params["b"]
    h = jnp.tanh(jnp.einsum("i,mih->mh", inputs, params["W1"]) + params["b1"])
    return jnp.einsum("mh,mhn->mn", h, params["W2"]) + params["b2"]


def field(params: dict, q: jax.Array, mask: jax.Array | None = None):
    """The field z' = F(z, q) of one gate `q [m]`, as a function `(z, u) -> z'`."""
    return lambda z, u=None: q @ mode_fields(params, z, u, mask)
