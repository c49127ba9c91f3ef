"""POPGym ports: spaces and presets, step-by-step equality with popgym from the same deal, scripted optimal play.

The step-by-step tests read popgym's freshly dealt hidden state (deck order, mines, ships, physics state), build
our state from it, then feed both envs the same actions and compare every observation, reward and end flag.
They run eagerly (no jit): a few hundred small steps cost less than compiling.
"""

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.pomdp import POMDP_ENVS, make_popgym
from envs.pomdp.cards import ConcentrationState, CountRecallState, DeckState
from envs.pomdp.games import BanditState, BattleshipState, MineSweeperState

LEVELS = sorted(name for name in POMDP_ENVS if name.endswith(("Easy", "Medium", "Hard")))
KEY = jax.random.key(0)


def test_every_family_has_three_levels_and_is_reachable_by_name():
    assert len(LEVELS) == 39
    assert isinstance(envs.make("pomdp:RepeatPreviousEasy-v0"), envs.pomdp.RepeatPrevious)
    assert envs.make("pomdp:StatelessCartPoleHard").max_episode_steps == 600  # the S5 paper's spelling
    assert envs.make("pomdp:RepeatPrevious?k=8&num_decks=2").k == 8
    with pytest.raises(envs.EnvNotFoundError, match="RepeatPreviousEasy"):
        envs.make("pomdp:RepeatPrevousEasy")


@pytest.mark.parametrize("name, obs_space, action_space, length", [
    ("RepeatFirstHard", envs.Discrete(4), envs.Discrete(4), 16 * 52 - 1),
    ("RepeatPreviousMedium", envs.Discrete(4), envs.Discrete(4), 103),
    ("CountRecallEasy", envs.MultiDiscrete((2, 2)), envs.Discrete(27), 51),
    ("CountRecallMedium", envs.MultiDiscrete((4, 4)), envs.Discrete(27), 103),
    ("CountRecallHard", envs.MultiDiscrete((13, 13)), envs.Discrete(17), 207),
    ("AutoencodeMedium", envs.MultiDiscrete((2, 4)), envs.Discrete(4), 207),
    ("MultiarmedBanditHard", envs.Discrete(2), envs.Discrete(30), 600),
    ("HigherLowerEasy", envs.Discrete(13), envs.Discrete(2), 51),
    ("ConcentrationEasy", envs.MultiDiscrete((3,) * 52), envs.Discrete(52), 104),
    ("ConcentrationHard", envs.MultiDiscrete((14,) * 52), envs.Discrete(52), 104),
    ("MineSweeperEasy", envs.Discrete(3), envs.Discrete(16), 14),
    ("MineSweeperHard", envs.Discrete(10), envs.Discrete(64), 54),
    ("BattleshipHard", envs.Discrete(2), envs.Discrete(144), 144),
    ("NoisyPositionOnlyPendulumHard", envs.Box.uniform(-1, 1, (2,)), envs.Box.uniform(-2, 2, (1,)), 200),
])
def test_spaces_and_lengths(name, obs_space, action_space, length):
    env = make_popgym(name)
    assert (env.observation_space, env.action_space, env.max_episode_steps) == (obs_space, action_space, length)


@pytest.mark.parametrize("name", LEVELS)
def test_gymnasium_spaces_are_popgyms(name):
    popgym_envs = pytest.importorskip("popgym.envs")
    theirs = getattr(popgym_envs, name)()
    ours = gymnasium.make(f"hsrl/{name}-v0").unwrapped
    assert ours.observation_space == theirs.observation_space
    assert ours.action_space == theirs.action_space


# --- step by step against popgym ------------------------------------------------------------------------------

def _dealt(deck, field):
    """popgym deals from the end of `deck.idx`: the field of each card in dealing order."""
    return jnp.asarray(getattr(deck, field)[deck.idx[::-1]], jnp.int32)


def _bool(array):
    return jnp.asarray(np.asarray(array).reshape(-1) == 1)


STATE_FROM_POPGYM = {
    "RepeatFirst": lambda e, ours: DeckState(_dealt(e.deck, "suits_idx"), jnp.int32(0)),
    "RepeatPrevious": lambda e, ours: DeckState(_dealt(e.deck, "suits_idx"), jnp.int32(0)),
    "Autoencode": lambda e, ours: DeckState(_dealt(e.deck, "suits_idx"), jnp.int32(0)),
    "HigherLower": lambda e, ours: DeckState(_dealt(e.deck, "ranks_idx"), jnp.int32(0)),
    "CountRecall": lambda e, ours: CountRecallState(
        jnp.asarray(e.deck_idx_type[e.value_deck.idx[::-1]], jnp.int32),
        jnp.asarray(e.deck_idx_type[e.query_deck.idx[::-1]], jnp.int32), jnp.asarray(e.counts, jnp.int32),
        jnp.int32(0)),
    "Concentration": lambda e, ours: ConcentrationState(
        jnp.asarray(e.deck_idx_type[e.deck.idx], jnp.int32), jnp.zeros(e.deck.num_cards, bool), jnp.int32(-1),
        jnp.zeros(e.deck.num_cards, bool)),
    "MineSweeper": lambda e, ours: MineSweeperState(
        _bool(e.hidden_grid), jnp.zeros(e.hidden_grid.size, bool), ours.neighbour_counts(_bool(e.hidden_grid)),
        jnp.int32(0)),
    "Battleship": lambda e, ours: BattleshipState(
        _bool(e.board), jnp.zeros(e.board.size, bool), jnp.int32(0), jnp.int32(0)),
    # Payout probabilities of exactly 0 or 1 make popgym's random payout deterministic.
    "MultiarmedBandit": lambda e, ours: BanditState(jnp.asarray(e.bandits, jnp.float32), jnp.int32(0)),
    "PositionOnlyCartPole": lambda e, ours: jnp.asarray(e.state, jnp.float32),
    "PositionOnlyPendulum": lambda e, ours: jnp.asarray(e.state, jnp.float32),
}


def _popgym_action(name, theirs, rng):
    """Random actions, with a bias towards informative ones where random play would never end a game."""
    if name == "Concentration" and rng.random() < 0.85:
        classes = theirs.deck_idx_type[theirs.deck.idx]
        down = [i for i in range(len(classes)) if i not in theirs.deck["face_up_idx"]]
        if theirs.deck["in_play_idx"]:
            first = theirs.deck["in_play_idx"][0]
            return next((i for i in down if i != first and classes[i] == classes[first]), down[0])
        return down[0]
    if name == "MineSweeper" and rng.random() < 0.9:
        return np.array(divmod(int(rng.choice(np.flatnonzero(theirs.hidden_grid.ravel() != 1))), theirs.dims[1]))
    if name == "Battleship" and rng.random() < 0.5:
        return np.array(divmod(int(rng.choice(np.flatnonzero(theirs.board.ravel() == 1))), theirs.board_size))
    return theirs.action_space.sample()


def _assert_same_obs(ours, theirs):
    if isinstance(theirs, tuple):
        assert ours == theirs
    else:
        np.testing.assert_allclose(np.asarray(ours, np.float64), np.asarray(theirs, np.float64), atol=1e-4)


@pytest.mark.parametrize("name", ["RepeatFirstEasy", "RepeatPreviousEasy", "RepeatPreviousMedium", "CountRecallEasy",
                                  "CountRecallHard", "AutoencodeEasy", "HigherLowerEasy", "ConcentrationEasy",
                                  "ConcentrationHard", "MineSweeperEasy", "MineSweeperHard", "BattleshipEasy",
                                  "MultiarmedBanditEasy", "PositionOnlyCartPoleEasy", "PositionOnlyPendulumHard"])
def test_step_by_step_equal_to_popgym_from_the_same_deal(name):
    popgym_envs = pytest.importorskip("popgym.envs")
    family = name.removesuffix("Easy").removesuffix("Medium").removesuffix("Hard")
    ours = make_popgym(name)
    rng = np.random.default_rng(0)
    seeds = range(4) if family in ("MineSweeper", "Battleship", "PositionOnlyCartPole") else range(1)
    ends = set()
    for seed in seeds:
        theirs = getattr(popgym_envs, name)()
        their_obs, _ = theirs.reset(seed=seed)
        theirs.action_space.seed(seed)
        if family == "MultiarmedBandit":
            theirs.bandits[:] = (rng.random(theirs.num_bandits) < 0.5).astype(np.float32)
        state = STATE_FROM_POPGYM[family](theirs, ours)
        _assert_same_obs(ours.to_gymnasium_observation(np.asarray(ours.observe(state, KEY))), their_obs)
        for t in range(ours.max_episode_steps):
            action = _popgym_action(family, theirs, rng)
            their_obs, their_reward, their_term, their_trunc, _ = theirs.step(action)
            state, reward, terminated = ours.transition(state, jnp.asarray(ours.from_gymnasium_action(action)), KEY)
            truncated = t + 1 >= ours.max_episode_steps and not terminated
            _assert_same_obs(ours.to_gymnasium_observation(np.asarray(ours.observe(state, KEY))), their_obs)
            assert float(reward) == pytest.approx(their_reward, abs=1e-5), (t, action)
            assert (bool(terminated), truncated) == (their_term, their_trunc and not their_term), t
            if their_term or their_trunc:
                ends.add("terminated" if their_term else "truncated")
                break
        else:
            pytest.fail("popgym's episode did not end within our max_episode_steps")
    if family in ("Concentration", "MineSweeper", "Battleship"):
        assert "terminated" in ends  # the win (or loss) condition was exercised


# --- scripted optimal play ------------------------------------------------------------------------------------

def _play(env, policy, seed=0):
    """Run one episode through the protocol with `policy(history, t) -> action`; returns (return, length)."""
    key = jax.random.key(seed)
    state, step = env.reset(key)
    history = [np.asarray(step.obs)]
    for t in range(env.max_episode_steps):
        key, step_key = jax.random.split(key)
        state, step = env.step(state, jnp.asarray(policy(history, t), jnp.int32), step_key)
        if step.terminated or step.truncated:
            return float(step.info["episode_return"]), int(step.info["episode_length"]), bool(step.terminated)
        history.append(np.asarray(step.obs))
    raise AssertionError("episode did not end")


def _count_recall(history, t):
    values = [int(obs[0]) for obs in history]
    return values.count(int(history[-1][1]))


def _autoencode(history, t):
    return 0 if t < 51 else int(history[2 * 51 - t][1])


@pytest.mark.parametrize("name, policy", [
    ("RepeatFirstEasy", lambda history, t: int(history[0])),
    ("RepeatPreviousEasy", lambda history, t: int(history[max(t - 3, 0)])),
    ("CountRecallEasy", _count_recall),
    ("CountRecallHard", _count_recall),
    ("AutoencodeEasy", _autoencode),
])
def test_scripted_optimal_policy_gets_return_one(name, policy):
    env = make_popgym(name)
    episode_return, length, terminated = _play(env, policy)
    assert episode_return == pytest.approx(1.0, abs=1e-4) and length == env.max_episode_steps and terminated


def test_repeat_previous_popjaxrl_lag_convention():
    env = make_popgym("RepeatPreviousEasy", lag_convention="popjaxrl")
    episode_return, length, _ = _play(env, lambda history, t: int(history[max(t - 4, 0)]))
    assert episode_return == pytest.approx(1.0, abs=1e-4) and length == 51
    assert _play(env, lambda history, t: int(history[max(t - 3, 0)]))[0] < 0.0


def test_always_wrong_answers_get_return_minus_one():
    env = make_popgym("RepeatFirstMedium")
    assert _play(env, lambda history, t: (int(history[0]) + 1) % 4)[0] == pytest.approx(-1.0, abs=1e-3)


def test_one_hot_observation_covers_every_space():
    from envs.pomdp import observation_size, one_hot_observation

    for name in ("RepeatFirstEasy", "CountRecallHard", "ConcentrationEasy", "PositionOnlyCartPoleEasy"):
        env = make_popgym(name)
        _, step = env.reset(KEY)
        encoded = one_hot_observation(env.observation_space, step.obs)
        assert encoded.shape == (observation_size(env.observation_space),) and encoded.dtype == jnp.float32
