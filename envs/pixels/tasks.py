"""The five `pixels:` tasks: their dynamics, rewards, probe features and what they draw.

Every task takes actions in [-1, 1]^action_dim, never terminates, and rewards each physics step in [0, 1] from
the state the step reached (and, for the cart-pole and the point mass, a small control cost). Its interface:

    initial_state(key) -> state [S]          physics_step(state, action) -> state [S]
    reward(state, action) -> []              features(state) -> [F]  (the probe targets)
    invariant_features(state) -> [F]  (optional) the probe targets up to the task's mirror symmetry
    parts(points [H, W, 2] in world units, state) -> list[Part], back to front
    view: the world square the frame shows (envs/pixels/render.py)

Dynamics come from our classic-control ports where one fits: the pendulum is `envs.classic.Pendulum` (Gymnasium's
constants, dt 0.05), the cart-pole uses `envs.classic.CartPole`'s equations of motion with a continuous force,
semi-implicit Euler and a rail. The point mass (force-driven, damped, in a walled square) and the two-link
reacher (each joint a damped, torque-driven rotor, without the coupling of a real arm) are small models of
their own, after the DeepMind Control Suite's point_mass and reacher (Tassa et al. 2018).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp

from envs.classic import CartPole, Pendulum
from envs.classic.pendulum import angle_normalize
from envs.pixels.render import View, box, capsule, disc
from envs.pixels.rewards import small_control, tolerance
from envs.pixels.scene import Part


@dataclass(frozen=True)
class PendulumSwingup:
    """Swing a pendulum up from a random angle and hold it upright. State `[theta, theta_dot]`, theta = 0 up and
    counter-clockwise positive; action = torque / 2. Reward: 1 within 30 degrees of upright, 0.1 at a cosine one
    below that, ~0 hanging down."""

    pendulum: Pendulum = field(default_factory=Pendulum)
    view: View = View((0.0, 0.0), 1.3)
    action_dim: int = 1
    state_names: tuple[str, ...] = ("theta", "theta_dot")
    feature_names: tuple[str, ...] = ("cos_theta", "sin_theta", "theta_dot")

    def initial_state(self, key: jax.Array) -> jax.Array:
        return self.pendulum.initial_state(key)

    def physics_step(self, state: jax.Array, action: jax.Array) -> jax.Array:
        torque = self.pendulum.max_torque * jnp.clip(action, -1.0, 1.0)
        return self.pendulum.transition(state, torque, None)[0]

    def reward(self, state: jax.Array, action: jax.Array) -> jax.Array:
        return tolerance(jnp.cos(state[0]), jnp.cos(jnp.pi / 6), 1.0, margin=1.0)

    def features(self, state: jax.Array) -> jax.Array:
        return jnp.stack([jnp.cos(state[0]), jnp.sin(state[0]), state[1]])

    def invariant_features(self, state: jax.Array) -> jax.Array:
        """`features` with the mirror image divided out: (cos theta, |sin theta|, theta_dot sign(sin theta)).
        The dynamics and the reward are unchanged under (theta, theta_dot, action) -> (-theta, -theta_dot,
        -action), and so is a random policy symmetric in its actions. On data from such a policy a state and its
        mirror image are bisimilar, and a model that learns from rewards alone (HRSSM's bisimulation loss) has no
        reason to tell them apart; sin theta and theta_dot change sign under the mirror, these do not."""
        side = jnp.sign(jnp.sin(state[0]))
        return jnp.stack([jnp.cos(state[0]), jnp.abs(jnp.sin(state[0])), state[1] * side])

    def tip(self, state: jax.Array) -> jax.Array:
        return self.pendulum.l * jnp.stack([-jnp.sin(state[0]), jnp.cos(state[0])])

    def parts(self, points: jax.Array, state: jax.Array) -> list[Part]:
        pivot, tip = jnp.zeros(2), self.tip(state)
        return [Part(capsule(points, pivot, tip, 0.07), "body"),
                Part(disc(points, tip, 0.18), "detail"),
                Part(disc(points, pivot, 0.06), "fixture")]


@dataclass(frozen=True)
class Cartpole:
    """A pole on a cart on a rail. State `[x, x_dot, theta, theta_dot]` (CartPole-v1's order; theta = 0 up,
    positive leaning right); action = force / 10. The cart stops dead at the rail's ends (|x| = `rail`).
    `swingup` starts hanging down, otherwise near upright. Reward: uprightness times being centred, a small
    control cost and a small angular speed, each factor in [0, 1], as in the Control Suite's cartpole."""

    swingup: bool = False
    cartpole: CartPole = field(default_factory=CartPole)
    rail: float = 1.2
    view: View = View((0.0, 0.0), 2.2)
    action_dim: int = 1
    state_names: tuple[str, ...] = ("x", "x_dot", "theta", "theta_dot")
    feature_names: tuple[str, ...] = ("x", "cos_theta", "sin_theta", "x_dot", "theta_dot")

    def initial_state(self, key: jax.Array) -> jax.Array:
        noise_key, start_key = jax.random.split(key)
        if self.swingup:
            return jnp.array([0.0, 0.0, jnp.pi, 0.0]) + 0.01 * jax.random.normal(noise_key, (4,))
        start = jax.random.uniform(start_key, (2,), minval=jnp.array([-0.25, -0.05]), maxval=jnp.array([0.25, 0.05]))
        return jnp.array([start[0], 0.0, start[1], 0.0]) + 0.01 * jax.random.normal(noise_key, (4,)) * jnp.array(
            [0.0, 1.0, 0.0, 1.0])

    def physics_step(self, state: jax.Array, action: jax.Array) -> jax.Array:
        x, x_dot, theta, theta_dot = state
        force = self.cartpole.force_mag * jnp.clip(action[0], -1.0, 1.0)
        theta_acc, x_acc = self.cartpole._accelerations(force, theta, theta_dot)
        # Semi-implicit Euler (positions advance with the new velocities): a swinging pole keeps its energy,
        # where CartPole-v1's explicit Euler would slowly pump energy in over a long swing-up.
        tau = self.cartpole.tau
        x_dot, theta_dot = x_dot + tau * x_acc, theta_dot + tau * theta_acc
        x = x + tau * x_dot
        at_end = jnp.abs(x) >= self.rail
        return jnp.stack([jnp.clip(x, -self.rail, self.rail), jnp.where(at_end, 0.0, x_dot), theta + tau * theta_dot,
                          theta_dot])

    def reward(self, state: jax.Array, action: jax.Array) -> jax.Array:
        x, _, theta, theta_dot = state
        upright = (jnp.cos(theta) + 1.0) / 2.0
        centred = (1.0 + tolerance(x, 0.0, 0.0, margin=2.0)) / 2.0
        slow = (1.0 + tolerance(theta_dot, 0.0, 0.0, margin=5.0)) / 2.0
        return upright * centred * slow * small_control(action)

    def features(self, state: jax.Array) -> jax.Array:
        x, x_dot, theta, theta_dot = state
        return jnp.stack([x, jnp.cos(theta), jnp.sin(theta), x_dot, theta_dot])

    def parts(self, points: jax.Array, state: jax.Array) -> list[Part]:
        x, _, theta, _ = state
        cart = jnp.stack([x, 0.0])
        tip = cart + 2.0 * self.cartpole.length * jnp.stack([jnp.sin(theta), jnp.cos(theta)])
        rail_half = jnp.array([self.rail + 0.3, 0.03])
        return [Part(box(points, jnp.zeros(2), rail_half), "fixture"),
                Part(box(points, cart, jnp.array([0.3, 0.15])), "detail"),
                Part(capsule(points, cart, tip, 0.12), "body")]


@dataclass(frozen=True)
class PointMassReach:
    """A point mass pushed by a 2-D force in the walled square [-1, 1]^2, to a target drawn per episode. State
    `[x, y, vx, vy, target_x, target_y]`: velocity gains `gain * action - damping * velocity` per second; a wall
    stops the velocity across it. Reward: 1 within `target_radius` of the target, falling smoothly to 0.1 one
    unit further, times a small control cost."""

    dt: float = 0.05
    gain: float = 4.0
    damping: float = 2.0
    target_radius: float = 0.15
    view: View = View((0.0, 0.0), 1.1)
    action_dim: int = 2
    state_names: tuple[str, ...] = ("x", "y", "vx", "vy", "target_x", "target_y")
    feature_names: tuple[str, ...] = ("x", "y", "vx", "vy", "target_x", "target_y")

    def initial_state(self, key: jax.Array) -> jax.Array:
        position_key, target_key = jax.random.split(key)
        position = jax.random.uniform(position_key, (2,), minval=-0.8, maxval=0.8)
        target = jax.random.uniform(target_key, (2,), minval=-0.8, maxval=0.8)
        return jnp.concatenate([position, jnp.zeros(2), target])

    def physics_step(self, state: jax.Array, action: jax.Array) -> jax.Array:
        position, velocity, target = state[:2], state[2:4], state[4:]
        velocity = velocity + self.dt * (self.gain * jnp.clip(action, -1.0, 1.0) - self.damping * velocity)
        position = position + self.dt * velocity
        at_wall = jnp.abs(position) >= 1.0
        return jnp.concatenate([jnp.clip(position, -1.0, 1.0), jnp.where(at_wall, 0.0, velocity), target])

    def reward(self, state: jax.Array, action: jax.Array) -> jax.Array:
        distance = jnp.linalg.norm(state[:2] - state[4:])
        return tolerance(distance, 0.0, self.target_radius, margin=1.0) * small_control(action)

    def features(self, state: jax.Array) -> jax.Array:
        return state

    def parts(self, points: jax.Array, state: jax.Array) -> list[Part]:
        walls = -box(points, jnp.zeros(2), jnp.ones(2))  # positive inside: only the frame outside the square shows
        return [Part(jnp.maximum(walls, -0.06 - walls), "fixture"),
                Part(disc(points, state[4:], self.target_radius), "target"),
                Part(disc(points, state[:2], 0.12), "body")]


@dataclass(frozen=True)
class Reacher2:
    """A two-link arm on a fixed base reaching a target drawn per episode. State `[q1, q2, q1_dot, q2_dot,
    target_x, target_y]`, q1 the shoulder angle from the x axis and q2 the elbow angle relative to the first link.
    Each joint accelerates by `gain * action - damping * speed`. Reward: 1 with the fingertip within
    `target_radius` of the target, falling smoothly to 0.1 half a unit further."""

    dt: float = 0.05
    gain: float = 20.0
    damping: float = 4.0
    links: tuple[float, float] = (0.55, 0.45)
    target_radius: float = 0.1
    view: View = View((0.0, 0.0), 1.15)
    action_dim: int = 2
    state_names: tuple[str, ...] = ("q1", "q2", "q1_dot", "q2_dot", "target_x", "target_y")
    feature_names: tuple[str, ...] = ("cos_q1", "sin_q1", "cos_q2", "sin_q2", "q1_dot", "q2_dot", "target_x",
                                      "target_y")

    def initial_state(self, key: jax.Array) -> jax.Array:
        joint_key, angle_key, radius_key = jax.random.split(key, 3)
        joints = jax.random.uniform(joint_key, (2,), minval=-jnp.pi, maxval=jnp.pi)
        angle = jax.random.uniform(angle_key, (), minval=-jnp.pi, maxval=jnp.pi)
        radius = sum(self.links) * jax.random.uniform(radius_key, (), minval=0.2, maxval=0.9)
        target = radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)])
        return jnp.concatenate([joints, jnp.zeros(2), target])

    def physics_step(self, state: jax.Array, action: jax.Array) -> jax.Array:
        joints, speeds, target = state[:2], state[2:4], state[4:]
        speeds = speeds + self.dt * (self.gain * jnp.clip(action, -1.0, 1.0) - self.damping * speeds)
        return jnp.concatenate([angle_normalize(joints + self.dt * speeds), speeds, target])

    def elbow_and_fingertip(self, state: jax.Array) -> tuple[jax.Array, jax.Array]:
        q1, q12 = state[0], state[0] + state[1]
        elbow = self.links[0] * jnp.stack([jnp.cos(q1), jnp.sin(q1)])
        return elbow, elbow + self.links[1] * jnp.stack([jnp.cos(q12), jnp.sin(q12)])

    def reward(self, state: jax.Array, action: jax.Array) -> jax.Array:
        distance = jnp.linalg.norm(self.elbow_and_fingertip(state)[1] - state[4:])
        return tolerance(distance, 0.0, self.target_radius, margin=0.5)

    def features(self, state: jax.Array) -> jax.Array:
        q1, q2 = state[0], state[1]
        return jnp.concatenate([jnp.stack([jnp.cos(q1), jnp.sin(q1), jnp.cos(q2), jnp.sin(q2)]), state[2:]])

    def parts(self, points: jax.Array, state: jax.Array) -> list[Part]:
        base = jnp.zeros(2)
        elbow, fingertip = self.elbow_and_fingertip(state)
        return [Part(disc(points, state[4:], self.target_radius), "target"),
                Part(capsule(points, base, elbow, 0.07), "body"),
                Part(capsule(points, elbow, fingertip, 0.07), "body"),
                Part(disc(points, fingertip, 0.09), "detail"),
                Part(disc(points, base, 0.08), "fixture")]


TASKS = {
    "pendulum_swingup": PendulumSwingup,
    "cartpole_balance": lambda: Cartpole(swingup=False),
    "cartpole_swingup": lambda: Cartpole(swingup=True),
    "point_mass_reach": PointMassReach,
    "reacher2": Reacher2,
}
