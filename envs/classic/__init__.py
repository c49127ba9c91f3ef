"""JAX ports of gymnasium's classic-control tasks, step-for-step equal to the originals, and the continuous
combination lock of Zhou et al. 2023 (arXiv 2311.08384)."""

from envs.classic.cartpole import CartPole
from envs.classic.combination_lock import CombinationLock, epsilon_greedy_episodes
from envs.classic.pendulum import Pendulum

__all__ = ["CartPole", "CombinationLock", "Pendulum", "epsilon_greedy_episodes"]
