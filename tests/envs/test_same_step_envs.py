"""Our same-step auto-reset batch of gymnasium envs gives the episodes gymnasium's SyncVectorEnv gives in its
SAME_STEP mode: observations, rewards, flags and final observations, seeded resets included."""

import gymnasium
import numpy as np

from envs.same_step_envs import SameStepEnvs


def test_same_episodes_as_gymnasium_sync_vector_env():
    makers = [lambda: gymnasium.make("CartPole-v1") for _ in range(3)]
    ours = SameStepEnvs(makers)
    theirs = gymnasium.vector.SyncVectorEnv(makers, autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP)
    np.testing.assert_array_equal(ours.reset(seed=7), theirs.reset(seed=7)[0])
    actions = np.random.default_rng(0).integers(0, 2, size=(300, 3))
    ended = 0
    for action in actions:
        obs, reward, terminated, truncated, final = ours.step(action)
        their_obs, their_reward, their_terminated, their_truncated, infos = theirs.step(action)
        np.testing.assert_array_equal(obs, their_obs)
        np.testing.assert_array_equal(reward, their_reward)
        np.testing.assert_array_equal(terminated, their_terminated)
        np.testing.assert_array_equal(truncated, their_truncated)
        their_final = np.flatnonzero(infos.get("_final_obs", np.zeros(3, bool)))
        assert sorted(final) == their_final.tolist()
        for i in their_final:
            np.testing.assert_array_equal(final[i], infos["final_obs"][i])
        ended += len(final)
    assert ended > 10, "the comparison should cross many episode ends"
    ours.close()
    theirs.close()
