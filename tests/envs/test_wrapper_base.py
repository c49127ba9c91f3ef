"""`envs.wrapper.Wrapper`: it forwards the env spec and steps exactly as the inner env; a wrapper's own episode
state is drawn afresh where the inner episode ends, with `final_obs` seen in the ended episode and `obs` in the
new one, under jit and vmap; the previous-action and meta wrappers are Wrappers, importable where they were."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax_counter_env import Counter

import envs
from envs.wrapper import NotAJaxEnvError, Wrapper, WrapperState


class EpisodeOffset(Wrapper):
    """Adds a per-episode random offset to the observation and reports it."""

    def episode_state(self, key):
        return jax.random.randint(key, (), 10, 1000)

    def observation(self, obs, episode):
        return obs + episode

    def extra_info(self, episode):
        return {"offset": episode}


def run(env, steps: int, batch: int, action: int = 1):
    """`steps` vmapped steps of one constant action, one jitted scan -> (reset timestep, (states, timesteps))."""

    @jax.jit
    def go(key):
        state, first = jax.vmap(env.reset)(jax.random.split(key, batch))

        def body(state, key):
            keys = jax.random.split(key, batch)
            state, timestep = jax.vmap(env.step, in_axes=(0, None, 0))(state, jnp.int32(action), keys)
            return state, (state, timestep)

        return first, jax.lax.scan(body, state, jax.random.split(key, steps))[1]

    return go(jax.random.key(0))


def test_a_plain_wrapper_forwards_the_spec_and_the_steps():
    inner = Counter(target=3, max_episode_steps=7, report_position=True)
    wrapped = Wrapper(inner)
    assert wrapped.spec == inner.spec and not wrapped.keeps_episode_state
    first, (states, steps) = run(wrapped, 6, 2)
    inner_first, (inner_states, inner_steps) = run(inner, 6, 2)
    for a, b in zip(jax.tree.leaves((first, states, steps)), jax.tree.leaves((inner_first, inner_states, inner_steps))):
        np.testing.assert_array_equal(a, b)


def test_episode_state_is_drawn_afresh_at_each_auto_reset():
    env = EpisodeOffset(Counter(target=3))
    first, (states, steps) = run(env, 9, 4)  # three episodes of three steps in each env
    assert isinstance(states, WrapperState)
    offset = np.asarray(steps.info["offset"])  # the offset of the episode each step belongs to
    position = np.tile(np.array([1, 2, 3] * 3)[:, None], (1, 4))
    np.testing.assert_array_equal(np.asarray(steps.info["final_obs"])[..., 0], position + offset)
    np.testing.assert_array_equal(first.obs[:, 0], first.info["offset"])
    np.testing.assert_array_equal(offset[0], first.info["offset"])
    done = np.asarray(steps.done)
    assert done[[2, 5, 8]].all() and done.sum() == 12
    # Fixed within an episode, fresh after each end; obs after an end is the new start seen with the new offset.
    np.testing.assert_array_equal(offset[0:3], np.broadcast_to(offset[0], (3, 4)))
    assert np.all(offset[3] != offset[2]) and np.all(offset[6] != offset[5])
    np.testing.assert_array_equal(np.asarray(steps.obs)[2, :, 0], offset[3])
    np.testing.assert_array_equal(np.asarray(steps.obs)[0, :, 0], offset[1] + 1)


def test_wrapping_a_host_env_is_one_clear_error():
    with pytest.raises(NotAJaxEnvError, match="wraps a JaxEnv"):
        Wrapper(envs.make("gym:CartPole-v1"))


def test_the_ported_wrappers_are_wrappers_importable_where_they_were():
    from envs.pomdp.meta import MetaProjection
    from envs.pomdp.previous_action import PreviousActionObservation
    from envs.wrappers import PreviousActionObservation as moved

    assert moved is PreviousActionObservation and issubclass(PreviousActionObservation, Wrapper)
    meta = envs.make("pomdp:ProjectedCartPole?trials=2")
    assert isinstance(meta, MetaProjection) and isinstance(meta, Wrapper) and meta.env is meta.bases[0]
    port = envs.make("pomdp:RepeatPreviousEasy")
    wrapped = PreviousActionObservation(port)
    assert port.spec.previous_action_input and not wrapped.spec.previous_action_input
    assert not meta.spec.previous_action_input and wrapped.name == port.name
