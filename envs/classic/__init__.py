"""JAX ports of gymnasium's classic-control tasks, step-for-step equal to the originals."""

from envs.classic.cartpole import CartPole
from envs.classic.pendulum import Pendulum

__all__ = ["CartPole", "Pendulum"]
