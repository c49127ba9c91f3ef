"""The bouncing ball: a state-triggered hybrid system, integrated with diffrax and its event root-finding.

Between bounces y' = v, v' = -g. When the ball reaches y = 0 going down, v+ = -e v-; once |v+| falls below
`rest_speed` the ball rests on the ground (this ends the Zeno cascade of ever shorter bounces), and at most
`max_bounces` bounces are simulated. Modes: 0 in flight, 1 at rest. Every bounce is an event flight -> flight.

Each flight is one `diffrax.diffeqsolve` that stops at the event (the root of y, located by Newton's method from
optimistix), restarted after the jump inside a `lax.while_loop`, so a whole batch generates under one `vmap`.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from envs.hybrid.records import EventLog, Trajectories, boundaries_from_modes

FLIGHT, REST = 0, 1


@dataclass(frozen=True)
class BouncingBall:
    gravity: float = 9.81
    restitution: float = 0.8
    rest_speed: float = 0.05
    max_bounces: int = 30
    horizon: float = 5.0
    samples: int = 500
    height: tuple[float, float] = (1.0, 5.0)
    speed: tuple[float, float] = (-2.0, 2.0)

    name = "bouncing_ball"
    mode_names = ("flight", "rest")
    flow_inputs = None
    has_controls = False

    def guard(self, x: jax.Array) -> jax.Array:
        """The event surface: the height, crossed downwards at a bounce."""
        return x[..., 0]

    def generate(self, count: int, seed: int = 0) -> Trajectories:
        key_y, key_v = jax.random.split(jax.random.PRNGKey(seed))
        y0 = jax.random.uniform(key_y, (count,), minval=self.height[0], maxval=self.height[1])
        v0 = jax.random.uniform(key_v, (count,), minval=self.speed[0], maxval=self.speed[1])
        grid = jnp.linspace(0.0, self.horizon, self.samples)
        x, mode, times, before, after, valid = jax.jit(jax.vmap(self._simulate, in_axes=(0, None)))(
            jnp.stack([y0, v0], -1), grid)
        x, mode = np.asarray(x, np.float64), np.asarray(mode)
        jumped = _first_sample_after(np.asarray(grid), np.asarray(times), np.asarray(valid))
        events = EventLog(np.asarray(times, np.float64), np.zeros(times.shape, int), np.zeros(times.shape, int),
                          np.asarray(before, np.float64), np.asarray(after, np.float64), np.asarray(valid))
        return Trajectories(np.broadcast_to(np.asarray(grid), (count, self.samples)).astype(np.float64), x, mode,
                            boundaries_from_modes(mode, jumped), events=events)

    def _simulate(self, x0: jax.Array, grid: jax.Array):
        """One trajectory: samples [T, 2], modes [T], and the bounces (times, pre/post states, valid)."""
        import diffrax  # imported here so that `import envs` does not pay for diffrax
        import optimistix

        g, cap, t_end = self.gravity, self.max_bounces, self.horizon
        term = diffrax.ODETerm(lambda t, x, args: jnp.stack([x[1], -g]))
        # The event fires where y crosses zero downwards only (direction=False), so the launch from y = 0 after
        # a bounce does not re-trigger it.
        cond = lambda t, y, args, **kw: y[0]
        event = diffrax.Event(cond, root_finder=optimistix.Newton(rtol=1e-5, atol=1e-5), direction=False)

        def flight(carry):
            k, t0, x, samples, at_rest, times, before, after = carry
            sol = diffrax.diffeqsolve(term, diffrax.Tsit5(), t0, t_end, 0.01, x, event=event,
                                      saveat=diffrax.SaveAt(ts=jnp.clip(grid, t0, t_end), t1=True),
                                      stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-6),
                                      max_steps=4096)
            # After an event diffrax fills the later save slots with inf and puts the final time (the event)
            # right after the last grid time it reached.
            last = jnp.argmax(jnp.where(jnp.isfinite(sol.ts), sol.ts, -jnp.inf))
            t1, x_minus = sol.ts[last], sol.ys[last]
            hit = t1 < t_end
            in_flight = (grid >= t0) & ((grid < t1) | ~hit)
            samples = jnp.where(in_flight[:, None], sol.ys[:-1], samples)
            v_plus = -self.restitution * x_minus[1]
            rests = hit & (jnp.abs(v_plus) < self.rest_speed)
            x_plus = jnp.where(rests, jnp.zeros(2), jnp.stack([0.0, v_plus]))
            times, before, after = times.at[k].set(t1), before.at[k].set(x_minus), after.at[k].set(x_plus)
            at_rest = jnp.where(rests, t1, at_rest)
            return k + hit.astype(int), jnp.where(hit, t1, t_end), x_plus, samples, at_rest, times, before, after

        def going(carry):
            k, t0, *_ = carry
            return (k < cap) & (t0 < t_end) & ~jnp.isfinite(carry[4])

        init = (0, jnp.asarray(0.0), x0, jnp.zeros((grid.size, 2)), jnp.asarray(jnp.inf),
                jnp.zeros(cap), jnp.zeros((cap, 2)), jnp.zeros((cap, 2)))
        k, _, _, samples, at_rest, times, before, after = jax.lax.while_loop(going, flight, init)
        resting = grid >= at_rest
        samples = jnp.where(resting[:, None], 0.0, samples)
        mode = jnp.where(resting, REST, FLIGHT)
        valid = jnp.arange(cap) < k
        return samples, mode, times, before, after, valid


def _first_sample_after(grid: np.ndarray, times: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """[N, T] True at the first sample after each event."""
    jumped = np.zeros((times.shape[0], grid.size), bool)
    for i in range(times.shape[0]):
        index = np.searchsorted(grid, times[i][valid[i]], side="right")
        jumped[i, index[index < grid.size]] = True
    return jumped
