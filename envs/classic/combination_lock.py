"""The continuous combination lock of Zhou, Sekhari, Song & Sun, "Offline Data Enhanced On-Policy Policy Gradient
with Provable Guarantees" (arXiv 2311.08384), the testbed of their HNPG, as a functional JAX env.

A lock of H dials. Behind each observation is a latent state s in {A=0, B=1, C=2} and the step h. An episode
starts in A or B (probability 1/2 each) at h = 0. A step with action a in R^action_dim draws a dial position
i ~ Categorical(softmax(a / temperature)); it is correct when (s = A and i = opt_a[h]) or (s = B and
i = opt_b[h]). For h < H-1 a correct step stays in {A, B}, moving to the other good state with probability
switch_prob, and anything else falls into C, which is absorbing; the reward is 0. At h = H-1 a correct step pays
1 and anything else pays anti_reward with probability anti_reward_prob (a small decoy that a policy which gives
up early can collect), and the episode *terminates* (terminated, never truncated): every episode lasts exactly H
steps. The combination `opt_a[h], opt_b[h] ~ Uniform{0..action_dim-1}` is drawn once from `lock_seed` when the env
is built, so every env built from the same options (training and evaluation envs of a run) shares one lock.

Observation at (s, h): v = e_s + e_{3+h} + noise (Gaussian, std `noise`, on the first H+3 entries) in R^d, then
o = W v with W the d x d Sylvester-Hadamard matrix (entries +-1, not normalised), so W^T o / d = v. d is
2**ceil(log2(H+4)) unless `obs_dim` says otherwise; the observation after the last step has h = H, the index H+3,
hence at least H+4 entries.

Which step an observation is at: an episode's t-th observation (0-based, counted from the one flagged `first`)
is at h = t, which is how an agent indexes per-step policies. `info["timestep"]` says the same: it is the h of
the state the step reached, like `info["final_obs"]` (0 at reset, t+1 after the t-th step, H on the last one),
so on a step that ended an episode it describes the finished episode, not the fresh `obs`.

Actions. The softmax takes any real vector and the env never clips it. The action space is declared as
[0, 1]^action_dim, as in the original, and the suite's loops map an agent's [-1, 1] actions onto that box with
`core.actions.to_env_action`, which *clips* to [-1, 1] first: through the loops a dial's logit spans at most
1 / temperature, so the one-hot e_k (agent units 2 e_k - 1) is the strongest choice, and it picks k with
probability e^10 / (e^10 + 9) ~ 0.9996 at the default temperature 0.1. Calling `step` directly passes any real
vector through unclipped (10 e_k picks k with probability ~1 - 9 e^-100).

Derived facts: a uniformly random action in [0, 1]^action_dim picks each dial position with probability
1/action_dim by symmetry, so a random policy opens the lock with probability action_dim^-H (10^-H by default)
and its mean return is ~ anti_reward * anti_reward_prob = 0.05; the epsilon-greedy behaviour of
`epsilon_greedy_episodes` with epsilon = 1/H opens it in ~40 % of episodes for H = 20 and 50.

`intermediate_anti_reward`: the original code draws the decoy reward also on a step before H-1 that falls from A
or B into C, but then returns 0 instead of it; False (the default) is that behaviour, True pays it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.protocol import EnvState, JaxEnv
from envs.spaces import Box

GOOD_A, GOOD_B, DEAD = 0, 1, 2
NUM_LATENTS = 3


class LockOptionError(ValueError):
    """An option of CombinationLock outside its range; the message is one line naming it."""


@struct.dataclass
class LockState:
    latent: jax.Array  # int32: A=0, B=1, C=2
    h: jax.Array  # int32: steps taken in this episode, 0..H


def sylvester_hadamard(d: int) -> np.ndarray:
    """The d x d Hadamard matrix of Sylvester's construction (d a power of two): symmetric, W W^T = d I."""
    matrix = np.ones((1, 1), np.float32)
    while matrix.shape[0] < d:
        matrix = np.block([[matrix, matrix], [matrix, -matrix]])
    return matrix


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, float | np.floating)) and math.isfinite(value)


def _is_power_of_two(value: int) -> bool:
    return value >= 1 and value & (value - 1) == 0


@dataclass(frozen=True)
class CombinationLock(JaxEnv):
    """The lock; see the module docstring. `opt_a`, `opt_b` (numpy int32 [H]) are the combination."""

    horizon: int = 50
    action_dim: int = 10
    switch_prob: float = 0.5
    anti_reward: float = 0.1
    anti_reward_prob: float = 0.5
    noise: float = 0.1
    temperature: float = 0.1
    obs_dim: int | None = None
    lock_seed: int = 0
    intermediate_anti_reward: bool = False
    name: str = "CombinationLock-v0"

    # The episode length is the `horizon` option, so gymnasium's registration takes no limit from the defaults.
    episode_length_is_an_option = True

    def __post_init__(self):
        self._check_options()
        rng = np.random.default_rng(self.lock_seed)
        object.__setattr__(self, "opt_a", rng.integers(0, self.action_dim, self.horizon).astype(np.int32))
        object.__setattr__(self, "opt_b", rng.integers(0, self.action_dim, self.horizon).astype(np.int32))
        object.__setattr__(self, "hadamard", sylvester_hadamard(self.observation_dim))

    def _check_options(self) -> None:
        def refuse(option: str, must: str, value) -> None:
            raise LockOptionError(f"{self.name}: {option} must be {must}, got {value!r}")

        for option, minimum in (("horizon", 1), ("action_dim", 1), ("lock_seed", 0)):
            value = getattr(self, option)
            if not _is_int(value) or value < minimum:
                refuse(option, f"an integer >= {minimum}", value)
        for option in ("switch_prob", "anti_reward_prob"):
            value = getattr(self, option)
            if not _is_number(value) or not 0 <= value <= 1:
                refuse(option, "a probability in [0, 1]", value)
        if not _is_number(self.anti_reward):
            refuse("anti_reward", "a finite number", self.anti_reward)
        if not _is_number(self.noise) or self.noise < 0:
            refuse("noise", "a finite number >= 0", self.noise)
        if not _is_number(self.temperature) or self.temperature <= 0:
            refuse("temperature", "a finite number > 0", self.temperature)
        if not isinstance(self.intermediate_anti_reward, bool):
            refuse("intermediate_anti_reward", "true or false", self.intermediate_anti_reward)
        needed = self.horizon + 4
        if self.obs_dim is not None and not (_is_int(self.obs_dim) and _is_power_of_two(self.obs_dim)
                                             and self.obs_dim >= needed):
            refuse("obs_dim", f"a power of two >= horizon + 4 = {needed} (the last observation's h = H is "
                   f"entry H+3), or None for {2 ** math.ceil(math.log2(needed))}", self.obs_dim)

    # --- spaces and sizes -------------------------------------------------------------------------------------
    @property
    def observation_dim(self) -> int:
        """d: `obs_dim`, or the smallest power of two that holds the 3 latents and the H+1 steps 0..H."""
        return self.obs_dim if self.obs_dim is not None else 2 ** math.ceil(math.log2(self.horizon + 4))

    @property
    def max_episode_steps(self) -> int:
        return self.horizon  # never reached as a truncation: the last step terminates

    @property
    def observation_space(self) -> Box:
        return Box.uniform(-np.inf, np.inf, (self.observation_dim,))

    @property
    def action_space(self) -> Box:
        return Box.uniform(0.0, 1.0, (self.action_dim,))

    # --- the dynamics -----------------------------------------------------------------------------------------
    def initial_state(self, key: jax.Array) -> LockState:
        latent = jnp.where(jax.random.bernoulli(key), GOOD_A, GOOD_B).astype(jnp.int32)
        return LockState(latent, jnp.zeros((), jnp.int32))

    def correct_index(self, state: LockState) -> jax.Array:
        """The dial position that keeps `state` open: opt_a[h] in A, opt_b[h] otherwise (in C nothing does)."""
        h = jnp.minimum(state.h, self.horizon - 1)
        return jnp.where(state.latent == GOOD_A, jnp.asarray(self.opt_a)[h], jnp.asarray(self.opt_b)[h])

    def transition(self, state: LockState, action: jax.Array, key: jax.Array):
        dial_key, switch_key, decoy_key = jax.random.split(key, 3)
        logits = jnp.reshape(action, (self.action_dim,)).astype(jnp.float32) / self.temperature
        dial = jax.random.categorical(dial_key, logits)
        good = state.latent != DEAD
        correct = good & (dial == self.correct_index(state))
        last = state.h == self.horizon - 1
        switched = jnp.where(jax.random.bernoulli(switch_key, self.switch_prob), 1 - state.latent, state.latent)
        latent = jnp.where(correct, jnp.where(last, state.latent, switched), DEAD).astype(jnp.int32)
        decoy = jnp.where(jax.random.bernoulli(decoy_key, self.anti_reward_prob), self.anti_reward, 0.0)
        # Before the last step, only a fall from A or B into C draws the decoy (and only pays it if asked to).
        early = decoy * (good & ~correct) if self.intermediate_anti_reward else jnp.zeros(())
        reward = jnp.where(last, jnp.where(correct, 1.0, decoy), early)
        return LockState(latent, state.h + 1), reward.astype(jnp.float32), last

    def observe(self, state: LockState, key: jax.Array) -> jax.Array:
        noisy = self.horizon + NUM_LATENTS
        v = jnp.zeros(self.observation_dim, jnp.float32)
        v = v.at[:noisy].add(self.noise * jax.random.normal(key, (noisy,)))
        v = v.at[state.latent].add(1.0).at[NUM_LATENTS + state.h].add(1.0)
        return (jnp.asarray(self.hadamard) @ v).astype(jnp.float32)

    def extra_info(self, state: LockState) -> dict[str, jax.Array]:
        return {"timestep": state.h}

    # --- the offline behaviour ----------------------------------------------------------------------------------
    def behaviour_action(self, state: EnvState, key: jax.Array, epsilon: float | jax.Array) -> jax.Array:
        """The epsilon-greedy behaviour's action in env units ([0, 1]^action_dim) for an `EnvState` of this env:
        the one-hot of the correct position (opt_b's in C, where nothing is correct) with probability
        1 - epsilon, else a uniform vector in [0, 1]^action_dim. Pure and jittable."""
        explore_key, uniform_key = jax.random.split(key)
        greedy = jax.nn.one_hot(self.correct_index(state.inner), self.action_dim, dtype=jnp.float32)
        uniform = jax.random.uniform(uniform_key, (self.action_dim,))
        return jnp.where(jax.random.uniform(explore_key) < epsilon, uniform, greedy)


# --- the offline data generator ---------------------------------------------------------------------------------

EPISODES_PER_CHUNK = 1024  # episodes rolled out per jitted call: bounds the device memory of a large dataset


def epsilon_greedy_episodes(env: CombinationLock, key: jax.Array, episodes: int,
                            epsilon: float | None = None) -> dict[str, np.ndarray]:
    """`episodes` whole episodes of `env.behaviour_action` (epsilon None: 1/H) as D4RL arrays in env units.

    Keys `observations`, `actions`, `rewards`, `next_observations`, `terminals`, `timeouts`, with episodes * H
    rows in episode order: row n is step h = n mod H of episode n // H, `terminals` is set on each episode's last
    row, `timeouts` never. Episode i depends only on `key` and i (up to float rounding of the observations,
    whose matrix products XLA may sum in another order for another batch size).
    """
    if not _is_int(episodes) or episodes < 1:
        raise LockOptionError(f"episodes must be an integer >= 1, got {episodes!r}")
    epsilon = 1.0 / env.horizon if epsilon is None else epsilon
    if not _is_number(epsilon) or not 0 <= epsilon <= 1:
        raise LockOptionError(f"epsilon must be a probability in [0, 1], got {epsilon!r}")
    keys = jax.random.split(key, episodes)
    # Whole chunks of a power-of-two size: few shapes, so few compiles (padding episodes are dropped).
    chunk = min(EPISODES_PER_CHUNK, 2 ** math.ceil(math.log2(episodes)))
    padded = jnp.concatenate([keys, keys[jnp.arange(-episodes % chunk) % episodes]])
    roll_out = _episodes_function(env)
    parts = [jax.device_get(roll_out(padded[start:start + chunk], jnp.float32(epsilon)))
             for start in range(0, len(padded), chunk)]
    return {name: np.concatenate([part[name] for part in parts])[:episodes].reshape(-1, *parts[0][name].shape[2:])
            for name in parts[0]}


@functools.lru_cache(maxsize=8)  # envs are frozen, hashable dataclasses: one compile per lock and chunk size
def _episodes_function(env: CombinationLock):
    """Jitted `(keys [N], epsilon) -> arrays [N, H, ...]`: one episode per key, vmapped, H steps in a scan."""

    def episode(key, epsilon):
        reset_key, steps_key = jax.random.split(key)
        state, first = env.reset(reset_key)

        def one_step(carry, step_key):
            state, obs = carry
            act_key, env_key = jax.random.split(step_key)
            action = env.behaviour_action(state, act_key, epsilon)
            state, timestep = env.step(state, action, env_key)
            row = {"observations": obs, "actions": action, "rewards": timestep.reward,
                   "next_observations": timestep.info["final_obs"], "terminals": timestep.terminated,
                   "timeouts": timestep.truncated}
            return (state, timestep.obs), row

        _, rows = jax.lax.scan(one_step, (state, first.obs), jax.random.split(steps_key, env.horizon))
        return rows

    return jax.jit(jax.vmap(episode, in_axes=(0, None)))
