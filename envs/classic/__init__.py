"""JAX ports of gymnasium's classic-control tasks, step-for-step equal to the originals, the continuous
combination lock of Zhou et al. 2023 (arXiv 2311.08384), and the point mass of the skill-discovery tests."""

from envs.classic.cartpole import CartPole
from envs.classic.combination_lock import CombinationLock, epsilon_greedy_episodes
from envs.classic.pendulum import Pendulum
from envs.classic.point_plane import PointPlane

__all__ = ["CartPole", "CombinationLock", "Pendulum", "PointPlane", "epsilon_greedy_episodes"]
