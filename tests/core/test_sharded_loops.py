"""The JAX-env loops sharded over 2 forced host devices give the same parameters as on 1 device.

Each run is a subprocess, since `--xla_force_host_platform_device_count` must be set before jax initialises.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

RUN = r"""
import json, sys
import jax, numpy as np
import envs
from agents.ppo import PPO, PPOConfig
from agents.sac import SAC, SACConfig
from core.loops.off_policy import OffPolicyLoop
from core.loops.on_policy import OnPolicyLoop

def ppo_loop():
    env = envs.make("jax:CartPole-v1")
    agent = PPO(PPOConfig(num_envs=4, num_steps=16, hidden=(16, 16), num_minibatches=2), env.spec)
    return OnPolicyLoop(agent, env, 128, 0)


def sac_loop():
    env = envs.make("jax:Pendulum-v1")
    config = SACConfig(hidden=(16, 16), batch_size=16, buffer_size=512, learning_starts=32, num_envs=4)
    return OffPolicyLoop(SAC(config, env.spec), env, 64, 0)


results = {}
for which, loop in (("ppo", ppo_loop()), ("sac", sac_loop())):
    carry = loop.init_carry(jax.random.PRNGKey(0))
    for _ in range(2):
        carry, stats = loop.advance(carry)
    results[which] = {"devices": jax.device_count(), "obs_devices": len(carry.obs.sharding.device_set),
                      "params": [np.asarray(x, np.float64).ravel().tolist() for x in jax.tree.leaves(carry.agent)]}
print(json.dumps(results))
"""


def start(devices: int) -> subprocess.Popen:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", RUN], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def result(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs():
    one, two = start(1), start(2)  # side by side: each is mostly single-threaded compilation
    return result(one), result(two)


@pytest.mark.parametrize("which", ["ppo", "sac"])
def test_two_device_sharded_loop_matches_one_device(runs, which):
    one, two = runs[0][which], runs[1][which]
    assert one["devices"] == 1 and two["devices"] == 2
    assert two["obs_devices"] == 2, "the env batch should be split over both devices"
    assert len(one["params"]) == len(two["params"])
    for a, b in zip(one["params"], two["params"]):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-4, atol=1e-5)
