"""POPGym's board games and bandits as JAX envs: MultiarmedBandit, MineSweeper, Battleship.

Board actions: popgym's `MultiDiscrete([rows, cols])` becomes one `Discrete(rows * cols)` here, the cell
`row * cols + col` (row-major, as numpy ravels), so every discrete-action agent runs unchanged; the `[row, col]`
pair is accepted as well, and the gymnasium ids `hsrl/<Name>-v0` expose popgym's MultiDiscrete space itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.pomdp.base import PopgymEnv, cell_index
from envs.spaces import Discrete


@struct.dataclass
class BanditState:
    payout: jax.Array  # [arms] probability that each arm pays out
    last_obs: jax.Array


@dataclass(frozen=True)
class MultiarmedBandit(PopgymEnv):
    """Arms pay out with probabilities drawn U[0, 1) per episode; obs Discrete(2) is the payout bit (0 at reset),
    reward ±1/length, truncated after `episode_length` steps. Needs the previous action to be learnable."""

    num_bandits: int = 10
    episode_length: int = 200
    name: str = "MultiarmedBandit"
    obs_requires_prev_action: bool = True

    @property
    def max_episode_steps(self) -> int:
        return self.episode_length

    @property
    def observation_space(self) -> Discrete:
        return Discrete(2)

    @property
    def action_space(self) -> Discrete:
        return Discrete(self.num_bandits)

    def initial_state(self, key):
        return BanditState(jax.random.uniform(key, (self.num_bandits,)), jnp.zeros((), jnp.int32))

    def transition(self, state, action, key):
        paid = jax.random.uniform(key) < state.payout[jnp.reshape(action, ())]
        reward = jnp.where(paid, 1.0, -1.0) / self.episode_length
        return state.replace(last_obs=paid.astype(jnp.int32)), reward, jnp.zeros((), bool)

    def observe(self, state, key):
        return state.last_obs


class _BoardGame(PopgymEnv):
    rows: int
    cols: int

    @property
    def action_space(self) -> Discrete:
        return Discrete(self.rows * self.cols)

    def gymnasium_action_space(self):
        return gymnasium.spaces.MultiDiscrete([self.rows, self.cols])

    def from_gymnasium_action(self, action) -> np.ndarray:
        row, col = np.asarray(action).reshape(2)
        return np.asarray(int(row) * self.cols + int(col), np.int32)


@struct.dataclass
class MineSweeperState:
    mines: jax.Array  # [cells] bool
    viewed: jax.Array  # [cells] bool, clear cells already clicked
    neighbours: jax.Array  # [cells] mines in the 3x3 block around each cell, the cell itself included
    last_obs: jax.Array


_MINESWEEPER_LEVELS = {"easy": (4, 4, 2), "medium": (6, 6, 6), "hard": (8, 8, 10)}


@dataclass(frozen=True)
class MineSweeper(_BoardGame):
    """Click the clear cells of a hidden board; obs is the clicked cell's 3x3 mine count (0 at reset),
    Discrete(min(mines+1, 10)). Rewards: +1/(cells-mines) per new clear cell, -0.5/(cells-mines-2) for a
    re-click, and -0.5-1/(cells-mines) for a mine, which terminates. Terminated when every clear cell has been
    clicked, truncated after cells-mines steps. Easy 4x4 with 2 mines, Medium 6x6 with 6, Hard 8x8 with 10."""

    difficulty: str = "easy"
    name: str = "MineSweeper"
    obs_requires_prev_action: bool = True

    def __post_init__(self):
        if self.difficulty not in _MINESWEEPER_LEVELS:
            raise ValueError(f"difficulty must be one of {list(_MINESWEEPER_LEVELS)}, got {self.difficulty!r}")

    @property
    def rows(self) -> int:
        return _MINESWEEPER_LEVELS[self.difficulty][0]

    @property
    def cols(self) -> int:
        return _MINESWEEPER_LEVELS[self.difficulty][1]

    @property
    def num_mines(self) -> int:
        return _MINESWEEPER_LEVELS[self.difficulty][2]

    @property
    def max_episode_steps(self) -> int:
        return self.rows * self.cols - self.num_mines

    @property
    def observation_space(self) -> Discrete:
        return Discrete(min(self.num_mines + 1, 10))

    def initial_state(self, key):
        cells = self.rows * self.cols
        mine_cells = jax.random.choice(key, cells, (self.num_mines,), replace=False)
        mines = jnp.zeros(cells, bool).at[mine_cells].set(True)
        return MineSweeperState(mines, jnp.zeros(cells, bool), self.neighbour_counts(mines), jnp.zeros((), jnp.int32))

    def neighbour_counts(self, mines: jax.Array) -> jax.Array:
        """`[cells]` mines in each cell's 3x3 block, itself included (popgym's count; no wrap at the edges)."""
        grid = jnp.pad(mines.reshape(self.rows, self.cols).astype(jnp.int32), 1)
        counts = sum(grid[1 + di:1 + di + self.rows, 1 + dj:1 + dj + self.cols]
                     for di in (-1, 0, 1) for dj in (-1, 0, 1))
        return counts.reshape(-1)

    def transition(self, state, action, key):
        success = 1 / self.max_episode_steps
        cell = cell_index(action, self.cols)
        hit_mine, seen = state.mines[cell], state.viewed[cell]
        reward = jnp.where(hit_mine, -0.5 - success, jnp.where(seen, -0.5 / (self.max_episode_steps - 2), success))
        viewed = state.viewed.at[cell].set(seen | ~hit_mine)  # a mine is never marked: it stays a mine
        won = jnp.all(state.mines | viewed)
        next_state = state.replace(viewed=viewed, last_obs=state.neighbours[cell])
        return next_state, reward, hit_mine | won

    def observe(self, state, key):
        return state.last_obs


@struct.dataclass
class BattleshipState:
    ships: jax.Array  # [cells] bool
    guessed: jax.Array  # [cells] bool
    hits: jax.Array
    last_obs: jax.Array


@dataclass(frozen=True)
class Battleship(_BoardGame):
    """Sink hidden ships; obs Discrete(2) is 1 for a new hit (0 at reset). Reward +1/hits_needed for a hit,
    -1/(cells-hits_needed) otherwise (a repeat guess is a miss). Terminated when every ship cell is hit,
    truncated after board_size^2 steps. Ships are placed one by one uniformly among the free straight segments,
    as popgym's rejection sampler does. Easy 8x8, Medium 10x10, Hard 12x12, ships (2, 3, 3, 4)."""

    board_size: int = 10
    ship_sizes: tuple[int, ...] = (2, 3, 3, 4)
    name: str = "Battleship"
    obs_requires_prev_action: bool = True

    @property
    def rows(self) -> int:
        return self.board_size

    @property
    def cols(self) -> int:
        return self.board_size

    @property
    def hits_needed(self) -> int:
        return sum(self.ship_sizes)

    @property
    def max_episode_steps(self) -> int:
        return self.board_size**2

    @property
    def observation_space(self) -> Discrete:
        return Discrete(2)

    def initial_state(self, key):
        board = jnp.zeros((self.board_size, self.board_size), bool)
        for ship_key, size in zip(jax.random.split(key, len(self.ship_sizes)), self.ship_sizes, strict=True):
            board = self._place_ship(ship_key, board, int(size))
        cells = self.board_size**2
        zero = jnp.zeros((), jnp.int32)
        return BattleshipState(board.reshape(-1), jnp.zeros(cells, bool), zero, zero)

    def _place_ship(self, key, board, size):
        """Pick uniformly among the segments of `size` cells that are free, each segment counted once."""
        n, span = self.board_size, self.board_size - size + 1
        # Occupied cells under each segment, by its top-left cell: horizontal [n, span], vertical [span, n].
        horizontal = sum(board[:, k:k + span].astype(jnp.int32) for k in range(size))
        vertical = sum(board[k:k + span, :].astype(jnp.int32) for k in range(size))
        free = jnp.concatenate([horizontal.reshape(-1) == 0, vertical.reshape(-1) == 0])
        choice = jax.random.categorical(key, jnp.where(free, 0.0, -jnp.inf))
        is_vertical = choice >= n * span
        row = jnp.where(is_vertical, (choice - n * span) // n, choice // span)
        col = jnp.where(is_vertical, (choice - n * span) % n, choice % span)
        rows, cols = jnp.arange(n)[:, None], jnp.arange(n)[None, :]
        along = jnp.where(is_vertical, rows - row, cols - col)
        across = jnp.where(is_vertical, cols == col, rows == row)
        return board | (across & (along >= 0) & (along < size))

    def transition(self, state, action, key):
        cell = cell_index(action, self.cols)
        hit = state.ships[cell] & ~state.guessed[cell]
        hits = state.hits + hit
        reward = jnp.where(hit, 1 / self.hits_needed, -1 / (self.board_size**2 - self.hits_needed))
        next_state = BattleshipState(state.ships, state.guessed.at[cell].set(True), hits, hit.astype(jnp.int32))
        return next_state, reward, hits == self.hits_needed

    def observe(self, state, key):
        return state.last_obs
