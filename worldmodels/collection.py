"""A random dataset of image episodes from a JAX env, for fitting world models offline (`scripts/fit.py`).

The behaviour is uniform random with sticky actions: at each step the previous action is kept with probability
`sticky`, else a fresh uniform one is drawn. Sticky actions move a pendulum much further from where it starts
than independent draws, which average out, so the data covers more of the state space. All episodes are rolled
out at once (vmapped) in one jitted scan; the env's `info["task_features"]` (the true state, angles as cos and
sin) and `info["distractor_state"]` become the probe targets where the env reports them, and so do their other
forms, `info["task_invariant_features"]` and `info["distractor_features"]` (envs/pixels/env.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from worldmodels.episodes import Episodes

# The dataset's probe targets and the env info they come from.
PROBE_TARGETS = {"task_state": "task_features", "distractor_state": "distractor_state",
                 "task_state_invariant": "task_invariant_features", "distractor_features": "distractor_features"}


def collect(env_name: str, episodes: int, length: int, sticky: float, seed: int) -> Episodes:
    """`episodes` episodes of `length` steps (`length - 1` actions) of sticky random actions on `env_name`."""
    import envs

    env = envs.make(env_name)
    check_env(env, env_name, length)
    image, action, reward, info = _roll_out(env, episodes, length, sticky, jax.random.PRNGKey(seed))
    major = lambda x: np.swapaxes(np.asarray(x), 0, 1)  # [L, E, ...] -> [E, L, ...]
    states = {name: major(info[key]) for name, key in PROBE_TARGETS.items() if key in info}
    return Episodes(major(image), major(action), major(reward), env=env_name, **states)


def check_env(env, env_name: str, length: int) -> None:
    """Refuse, in one line, an env that is not a JAX env of square RGB frames and continuous actions, or whose
    time limit would cut an episode short."""
    from envs.registry import is_jax_env

    space, actions = env.spec.observation_space, env.spec.action_space
    shape = getattr(space, "shape", ())
    if not is_jax_env(env):
        raise ValueError(f"--data {env_name}: collecting needs a JAX env (e.g. pixels:pendulum_swingup)")
    if len(shape) != 3 or shape[0] != shape[1] or shape[2] != 3 or getattr(space, "dtype", None) != np.uint8:
        raise ValueError(f"--data {env_name}: observations must be square uint8 RGB images, got {shape}")
    if getattr(actions, "dtype", None) is None or not np.issubdtype(actions.dtype, np.floating):
        raise ValueError(f"--data {env_name}: the world models take continuous actions")
    if env.spec.max_episode_steps < length - 1:
        raise ValueError(f"--episode-length {length} is longer than {env_name}'s time limit of "
                         f"{env.spec.max_episode_steps} steps")


def _roll_out(env, episodes: int, length: int, sticky: float, key: jax.Array):
    """Time-major arrays `[L, E, ...]`: frames, the actions that led to them, rewards, infos."""
    shape = env.spec.action_space.shape

    def run(key):
        reset_key, key = jax.random.split(key)
        state, first = jax.vmap(env.reset)(jax.random.split(reset_key, episodes))

        def step(carry, step_key):
            state, previous = carry
            keep_key, draw_key, env_key = jax.random.split(step_key, 3)
            fresh = jax.random.uniform(draw_key, (episodes, *shape), minval=-1.0, maxval=1.0)
            keep = jax.random.uniform(keep_key, (episodes,) + (1,) * len(shape)) < sticky
            action = jnp.where(keep, previous, fresh)
            state, timestep = jax.vmap(env.step)(state, action, jax.random.split(env_key, episodes))
            return (state, action), (timestep.obs, action, timestep.reward, _probe_info(timestep.info))

        start = jax.random.uniform(key, (episodes, *shape), minval=-1.0, maxval=1.0)
        _, rest = jax.lax.scan(step, (state, start), jax.random.split(key, length - 1))
        head = (first.obs, jnp.zeros((episodes, *shape)), jnp.zeros(episodes), _probe_info(first.info))
        return jax.tree.map(lambda h, r: jnp.concatenate([h[None].astype(r.dtype), r]), head, rest)

    return jax.jit(run)(key)


def _probe_info(info: dict) -> dict:
    return {k: info[k] for k in PROBE_TARGETS.values() if k in info}
