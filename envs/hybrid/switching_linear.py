"""The switching linear system: three regions of the plane, each with its own affine field.

    x >= 2:          (x', y') = (-y, x + 2)
    x < 2, y >= 0:   (x', y') = (-1, -1)
    x < 2, y < 0:    (x', y') = (1, -1)

The mode is the region, so events are state-triggered (crossing a region's edge) and carry no jump. It is the
mode-mixing benchmark: a soft gate over candidate fields tends to blend neighbouring regions, a categorical one
does not. Trajectories are integrated with RK4 on a grid finer than the samples (`substeps` per sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from envs.hybrid.records import Trajectories, boundaries_from_modes


def region(state: jax.Array) -> jax.Array:
    """The mode of `state [..., 2]`: 0 for x >= 2, 1 for x < 2 and y >= 0, 2 for x < 2 and y < 0."""
    x, y = state[..., 0], state[..., 1]
    return jnp.where(x >= 2.0, 0, jnp.where(y >= 0.0, 1, 2))


def field(state: jax.Array) -> jax.Array:
    x, y = state[..., 0], state[..., 1]
    fields = jnp.stack([jnp.stack([-y, x + 2.0], -1),
                        jnp.broadcast_to(jnp.array([-1.0, -1.0]), state.shape),
                        jnp.broadcast_to(jnp.array([1.0, -1.0]), state.shape)])
    return jnp.take_along_axis(fields, region(state)[None, ..., None], axis=0)[0]


@dataclass(frozen=True)
class SwitchingLinear:
    horizon: float = 0.5
    samples: int = 11  # 10 steps
    substeps: int = 20
    low: tuple[float, float] = (-1.0, -3.0)
    high: tuple[float, float] = (5.0, 3.0)

    name = "switching_linear"
    mode_names = ("x>=2", "x<2,y>=0", "x<2,y<0")
    flow_inputs = None
    has_controls = False

    def generate(self, count: int, seed: int = 0) -> Trajectories:
        """`count` trajectories from initial states uniform on the box [low, high]."""
        key = jax.random.PRNGKey(seed)
        x0 = jax.random.uniform(key, (count, 2), minval=jnp.array(self.low), maxval=jnp.array(self.high))
        grid = np.linspace(0.0, self.horizon, self.samples)
        x = np.asarray(jax.jit(jax.vmap(self._integrate))(x0), np.float64)
        mode = np.asarray(region(x))
        return Trajectories(np.broadcast_to(grid, (count, self.samples)).copy(), x, mode,
                            boundaries_from_modes(mode))

    def _integrate(self, x0: jax.Array) -> jax.Array:
        h = self.horizon / (self.samples - 1) / self.substeps

        def rk4(x, _):
            k1 = field(x)
            k2 = field(x + 0.5 * h * k1)
            k3 = field(x + 0.5 * h * k2)
            k4 = field(x + h * k3)
            return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None

        def sample(x, _):
            x, _ = jax.lax.scan(rk4, x, None, length=self.substeps)
            return x, x

        _, xs = jax.lax.scan(sample, x0, None, length=self.samples - 1)
        return jnp.concatenate([x0[None], xs])
