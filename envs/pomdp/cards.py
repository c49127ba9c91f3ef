"""POPGym's card games as JAX envs: RepeatFirst, RepeatPrevious, CountRecall, Autoencode, HigherLower, Concentration.

A shuffled deck is drawn at reset and the state keeps a step counter `t`; popgym deals one card per step, so
"the card shown after t steps" is `deck[t]`. Every index below is provably within the deck (JAX would clamp an
out-of-range read silently and leak the answer at the last card), and each game ends as `terminated` exactly
where popgym's does. Rewards, spaces and episode lengths follow popgym 1.0.7 (numbers in each docstring).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium
import jax
import jax.numpy as jnp
from flax import struct

from envs.pomdp.base import CARDS_PER_DECK, FIELD_SIZES, NUM_RANKS, NUM_SUITS, PopgymEnv, shuffled_deck
from envs.spaces import Discrete, MultiDiscrete


@struct.dataclass
class DeckState:
    deck: jax.Array  # [cards] int32, the field of each card in dealing order
    t: jax.Array  # steps taken


def _signed(correct: jax.Array, scale: float) -> jax.Array:
    return jnp.where(correct, scale, -scale).astype(jnp.float32)


@dataclass(frozen=True)
class RepeatFirst(PopgymEnv):
    """Output the suit of the first card, on every step. Obs/actions Discrete(4); 52d-1 steps of ±1/(52d-1)."""

    num_decks: int = 1
    name: str = "RepeatFirst"

    @property
    def num_cards(self) -> int:
        return CARDS_PER_DECK * self.num_decks

    @property
    def max_episode_steps(self) -> int:
        return self.num_cards - 1

    @property
    def observation_space(self) -> Discrete:
        return Discrete(NUM_SUITS)

    @property
    def action_space(self) -> Discrete:
        return Discrete(NUM_SUITS)

    def initial_state(self, key):
        return DeckState(shuffled_deck(key, self.num_decks, "suits"), jnp.zeros((), jnp.int32))

    def transition(self, state, action, key):
        reward = _signed(jnp.reshape(action, ()) == state.deck[0], 1 / (self.num_cards - 1))
        t = state.t + 1
        return state.replace(t=t), reward, t == self.num_cards - 1

    def observe(self, state, key):
        return state.deck[state.t]


@dataclass(frozen=True)
class RepeatPrevious(PopgymEnv):
    """Output the suit of the card shown k-1 observations ago (popgym's `hand[-k]` before dealing).

    Obs/actions Discrete(4); 52d-1 steps; the last 52d-k of them are rewarded ±1/(52d-k). With
    `lag_convention="popjaxrl"` the target is the card k observations ago (popjaxrl's version, used for the
    S5 paper's table), rewarded on the last 52d-1-k steps at ±1/(52d-1-k) so returns stay in [-1, 1].
    """

    num_decks: int = 1
    k: int = 4
    lag_convention: str = "popgym"
    name: str = "RepeatPrevious"

    def __post_init__(self):
        if self.lag_convention not in ("popgym", "popjaxrl"):
            raise ValueError(f"lag_convention must be 'popgym' or 'popjaxrl', got {self.lag_convention!r}")
        if not 0 <= self.lag < self.num_cards - 1:
            raise ValueError(f"k={self.k} does not fit a deck of {self.num_cards} cards")

    @property
    def num_cards(self) -> int:
        return CARDS_PER_DECK * self.num_decks

    @property
    def lag(self) -> int:
        """How many observations back the target card was shown."""
        return self.k - 1 if self.lag_convention == "popgym" else self.k

    @property
    def max_episode_steps(self) -> int:
        return self.num_cards - 1

    @property
    def observation_space(self) -> Discrete:
        return Discrete(NUM_SUITS)

    @property
    def action_space(self) -> Discrete:
        return Discrete(NUM_SUITS)

    def initial_state(self, key):
        return DeckState(shuffled_deck(key, self.num_decks, "suits"), jnp.zeros((), jnp.int32))

    def transition(self, state, action, key):
        # The card on display is deck[t]; the target was shown `lag` steps before it.
        rewarded_steps = self.num_cards - 1 - self.lag
        target = state.deck[jnp.maximum(state.t - self.lag, 0)]
        reward = _signed(jnp.reshape(action, ()) == target, 1 / rewarded_steps)
        reward = jnp.where(state.t >= self.lag, reward, 0.0)
        t = state.t + 1
        return state.replace(t=t), reward, t == self.num_cards - 1

    def observe(self, state, key):
        return state.deck[state.t]


@struct.dataclass
class CountRecallState:
    values: jax.Array  # [cards] the dealt card's class
    queries: jax.Array  # [cards] the queried class, from an independently shuffled deck
    counts: jax.Array  # [classes] how often each class has been dealt, the card on display included
    t: jax.Array


@dataclass(frozen=True)
class CountRecall(PopgymEnv):
    """Obs `[dealt class, queried class]` (MultiDiscrete); answer how many cards of the queried class have been
    dealt so far, the one shown with the query included. Actions Discrete(cards/classes + 1); 52d-1 steps of
    ±1/(52d-1). Easy: 1 deck of colours, Medium: 2 decks of suits, Hard: 4 decks of ranks."""

    num_decks: int = 1
    deck_type: str = "colors"
    name: str = "CountRecall"

    def __post_init__(self):
        if self.deck_type not in FIELD_SIZES:
            raise ValueError(f"deck_type must be one of {sorted(FIELD_SIZES)}, got {self.deck_type!r}")

    @property
    def num_cards(self) -> int:
        return CARDS_PER_DECK * self.num_decks

    @property
    def num_classes(self) -> int:
        return FIELD_SIZES[self.deck_type]

    @property
    def max_episode_steps(self) -> int:
        return self.num_cards - 1

    @property
    def observation_space(self) -> MultiDiscrete:
        return MultiDiscrete((self.num_classes, self.num_classes))

    @property
    def action_space(self) -> Discrete:
        return Discrete(self.num_cards // self.num_classes + 1)

    def initial_state(self, key):
        value_key, query_key = jax.random.split(key)
        values = shuffled_deck(value_key, self.num_decks, self.deck_type)
        queries = shuffled_deck(query_key, self.num_decks, self.deck_type)
        counts = jnp.zeros(self.num_classes, jnp.int32).at[values[0]].add(1)
        return CountRecallState(values, queries, counts, jnp.zeros((), jnp.int32))

    def transition(self, state, action, key):
        answer = state.counts[state.queries[state.t]]
        reward = _signed(jnp.reshape(action, ()) == answer, 1 / (self.num_cards - 1))
        t = state.t + 1
        counts = state.counts.at[state.values[t]].add(1)
        return state.replace(counts=counts, t=t), reward, t == self.num_cards - 1

    def observe(self, state, key):
        return jnp.stack([state.values[state.t], state.queries[state.t]])


@dataclass(frozen=True)
class Autoencode(PopgymEnv):
    """Watch the deck's suits, then play them back in reverse order.

    Obs `[watch flag, suit]` (popgym: `Tuple(Discrete(2), Discrete(4))`, flag 1 while watching; the last card is
    shown with flag 0, then obs are `[0, 0]`). Actions Discrete(4), ignored while watching. 52d-1 watch steps
    with reward 0, then 52d recall steps of ±1/(52d): length 2*52d-1, terminated after the first card is recalled.
    """

    num_decks: int = 1
    name: str = "Autoencode"

    @property
    def num_cards(self) -> int:
        return CARDS_PER_DECK * self.num_decks

    @property
    def max_episode_steps(self) -> int:
        return 2 * self.num_cards - 1

    @property
    def observation_space(self) -> MultiDiscrete:
        return MultiDiscrete((2, NUM_SUITS))

    @property
    def action_space(self) -> Discrete:
        return Discrete(NUM_SUITS)

    def gymnasium_observation_space(self):
        return gymnasium.spaces.Tuple((gymnasium.spaces.Discrete(2), gymnasium.spaces.Discrete(NUM_SUITS)))

    def to_gymnasium_observation(self, obs):
        return int(obs[0]), int(obs[1])

    def initial_state(self, key):
        return DeckState(shuffled_deck(key, self.num_decks, "suits"), jnp.zeros((), jnp.int32))

    def transition(self, state, action, key):
        last = self.num_cards - 1
        recalling = state.t >= last
        # Step `last` recalls deck[last], step `last + j` recalls deck[last - j], down to deck[0].
        target = state.deck[jnp.clip(2 * last - state.t, 0, last)]
        reward = jnp.where(recalling, _signed(jnp.reshape(action, ()) == target, 1 / self.num_cards), 0.0)
        t = state.t + 1
        return state.replace(t=t), reward, t == 2 * last + 1

    def observe(self, state, key):
        last = self.num_cards - 1
        watching = (state.t < last).astype(jnp.int32)
        suit = jnp.where(state.t <= last, state.deck[jnp.minimum(state.t, last)], 0)
        return jnp.stack([watching, suit])


@dataclass(frozen=True)
class HigherLower(PopgymEnv):
    """Guess whether the next card's rank is higher (action 0) or lower (action 1) than the shown one.

    Obs Discrete(13) (rank), actions Discrete(2); 52d-1 steps of ±1/(52d), 0 for a tie.
    """

    num_decks: int = 1
    name: str = "HigherLower"

    @property
    def num_cards(self) -> int:
        return CARDS_PER_DECK * self.num_decks

    @property
    def max_episode_steps(self) -> int:
        return self.num_cards - 1

    @property
    def observation_space(self) -> Discrete:
        return Discrete(NUM_RANKS)

    @property
    def action_space(self) -> Discrete:
        return Discrete(2)

    def initial_state(self, key):
        return DeckState(shuffled_deck(key, self.num_decks, "ranks"), jnp.zeros((), jnp.int32))

    def transition(self, state, action, key):
        current, following = state.deck[state.t], state.deck[state.t + 1]
        guessed_higher = jnp.reshape(action, ()) == 0
        reward = _signed((following > current) == guessed_higher, 1 / self.num_cards)
        reward = jnp.where(following == current, 0.0, reward)
        t = state.t + 1
        return state.replace(t=t), reward, t == self.num_cards - 1

    def observe(self, state, key):
        return state.deck[state.t]


@struct.dataclass
class ConcentrationState:
    classes: jax.Array  # [cards] the class of the card at each position
    face_up: jax.Array  # [cards] bool, matched pairs
    first: jax.Array  # position of the first card of the pair being turned, or -1
    shown: jax.Array  # [cards] bool, what the last observation shows: matched pairs plus the cards in play


@dataclass(frozen=True)
class Concentration(PopgymEnv):
    """Memory: turn two face-down cards per turn; a pair of equal class stays face up.

    Obs MultiDiscrete([classes+1] * cards), `classes` meaning face down; the cards turned in this turn are shown
    (both of a pair, on the step that turns the second). Actions Discrete(cards): the position to turn.
    Rewards: +1/(cards/2) per matched pair; -2/len for a mismatched pair (or the same card twice); turning a
    card already matched costs -1/len per card in play and ends the turn. Terminated when every card is face up,
    truncated after len = ceil(2n - n/(2n-1)) steps. Easy: 1 deck of colours, Medium: 2, Hard: 1 deck of ranks.
    """

    num_decks: int = 1
    deck_type: str = "ranks"
    name: str = "Concentration"
    obs_requires_prev_action: bool = True

    def __post_init__(self):
        if self.deck_type not in ("colors", "ranks"):  # suits have 13 cards each: no perfect matching
            raise ValueError(f"deck_type must be 'colors' or 'ranks', got {self.deck_type!r}")

    @property
    def num_cards(self) -> int:
        return CARDS_PER_DECK * self.num_decks

    @property
    def face_down(self) -> int:
        return FIELD_SIZES[self.deck_type]

    @property
    def max_episode_steps(self) -> int:
        n = self.num_cards
        return math.ceil(2 * n - n / (2 * n - 1))

    @property
    def observation_space(self) -> MultiDiscrete:
        return MultiDiscrete((self.face_down + 1,) * self.num_cards)

    @property
    def action_space(self) -> Discrete:
        return Discrete(self.num_cards)

    def initial_state(self, key):
        no_cards = jnp.zeros(self.num_cards, bool)
        classes = shuffled_deck(key, self.num_decks, self.deck_type)
        return ConcentrationState(classes, no_cards, jnp.full((), -1, jnp.int32), no_cards)

    def transition(self, state, action, key):
        success, failure = 1 / (self.num_cards // 2), -1 / self.max_episode_steps
        card = jnp.reshape(action, ()).astype(jnp.int32)
        has_first = state.first >= 0
        first = jnp.maximum(state.first, 0)
        positions = jnp.arange(self.num_cards)
        in_play = (positions == card) | (has_first & (positions == first))
        already_up = state.face_up[card]  # a first card already up would have ended its turn at once
        matched = has_first & ~already_up & (state.classes[first] == state.classes[card]) & (first != card)

        reward = jnp.where(has_first, 2 * failure, 0.0)  # a mismatched pair; a first card costs nothing...
        reward = jnp.where(matched, success, reward)
        reward = jnp.where(already_up, failure * (1 + has_first), reward)  # ...unless it was already up
        face_up = state.face_up | (matched & in_play)
        turn_over = has_first | already_up
        next_state = ConcentrationState(
            state.classes, face_up, jnp.where(turn_over, -1, card), state.face_up | in_play)
        return next_state, reward.astype(jnp.float32), jnp.all(face_up)

    def observe(self, state, key):
        return jnp.where(state.shown, state.classes, self.face_down)
