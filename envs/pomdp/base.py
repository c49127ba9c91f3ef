"""What every POPGym port shares: a deck of cards, and popgym's own gymnasium spaces.

The JAX side of a port only uses our spaces (Box, Discrete, MultiDiscrete). Where popgym's gymnasium spaces are
richer (Autoencode's Tuple observation, the MultiDiscrete board coordinates of Battleship and MineSweeper), a
port says so through `gymnasium_observation_space` / `gymnasium_action_space` and the two converters, which the
reverse gymnasium adapter (`envs.pomdp.gymnasium_ids`) uses so `hsrl/<Name>-v0` has exactly popgym's spaces.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from envs.protocol import JaxEnv
from envs.spaces import observation_size as observation_size  # moved to envs.spaces; re-exported for old imports
from envs.spaces import one_hot_observation as one_hot_observation
from envs.spaces import to_gymnasium

CARDS_PER_DECK = 52
NUM_RANKS, NUM_SUITS, NUM_COLORS = 13, 4, 2

# One 52-card deck in popgym's card order; only the multiset of each field matters once the deck is shuffled.
_FIELDS = {
    "suits": np.tile(np.arange(NUM_SUITS), NUM_RANKS),
    "ranks": np.repeat(np.arange(NUM_RANKS), NUM_SUITS),
    "colors": np.tile(np.arange(NUM_COLORS), CARDS_PER_DECK // NUM_COLORS),
}
FIELD_SIZES = {"suits": NUM_SUITS, "ranks": NUM_RANKS, "colors": NUM_COLORS}


def shuffled_deck(key: jax.Array, num_decks: int, field: str) -> jax.Array:
    """`[52 * num_decks]` int32: the `field` (suits, ranks or colors) of each card of freshly shuffled decks."""
    cards = jnp.asarray(np.tile(_FIELDS[field], num_decks), jnp.int32)
    return jax.random.permutation(key, cards)


class PopgymEnv(JaxEnv):
    """A JaxEnv that also knows popgym's gymnasium spaces (by default: ours, converted)."""

    popgym_class: str = ""  # popgym's class name, e.g. "RepeatPreviousEasy"
    obs_requires_prev_action: bool = False  # as popgym: the agent should see its previous action
    # Every port is a memory task, so an agent with a memory gets previous-action inputs on all of them
    # (Lu et al. 2023 feed them on every POPGym env), not only where popgym's own flag above is set.
    previous_action_input: bool = True

    def gymnasium_observation_space(self):
        return to_gymnasium(self.observation_space)

    def gymnasium_action_space(self):
        return to_gymnasium(self.action_space)

    def to_gymnasium_observation(self, obs: np.ndarray) -> Any:
        """Our array observation as popgym returns it (a Python int for a Discrete space)."""
        if self.observation_space.shape == ():
            return int(obs)
        return np.asarray(obs, self.gymnasium_observation_space().dtype)

    def from_gymnasium_action(self, action: Any) -> np.ndarray:
        if self.action_space.shape == ():
            return np.asarray(action, np.int32).reshape(())
        return np.asarray(action, self.action_space.dtype).reshape(self.action_space.shape)


def cell_index(action: jax.Array, cols: int) -> jax.Array:
    """A board cell as one flat index: accepts our flat `Discrete(rows*cols)` action or popgym's `[row, col]`."""
    action = jnp.asarray(action, jnp.int32)
    if action.shape == (2,):
        return action[0] * cols + action[1]
    return action.reshape(())
