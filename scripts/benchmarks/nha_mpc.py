"""The `nha-mpc` suite: CEM model-predictive control of `hybrid:bouncing_ball_paddle` (keep the apex at 2 m with the
paddle's push at each bounce, v+ = -e v- + kappa u, u chosen every 0.1 s) planned on three models: the learned NHA
(flows, a jump map of (x-, u), the known guard y = 0), one NODE of (x, u) fitted to whole trajectories, and the
true simulator (the upper bound). CEM: 64 samples, 8 iterations, 5 elites, a 2-s horizon (20 decisions).

Data: 32 episodes of 5 s with uniformly random pushes, sampled every 0.02 s; segments are cut where v increases
(a bounce). NHA is fitted for 1,000 epochs (2,000 event steps), NODE for 300, as in the
`nha` suite's bouncing ball. The data, the NHA planner and the scoring are those of `--agent nha_control`
(agents/nha_control/paddle.py). Evaluation: 2 episodes of 3 s from the env's initial states (planning is the slow
part: 8 x 64 rollouts of 2 s per 0.1-s decision), the true env's return (sum of -(apex - 2)^2 every 0.1 s) and the
mean |apex - 2| over the second half.
`--quick`: 8 episodes, 50 epochs, 1 test episode of 2 s.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from agents.nha_control.paddle import SUBSTEPS, apex_returns, collect, nha_returns
from envs.hybrid.paddle import BouncingBallPaddle
from scripts.benchmarks.nha_ball import whole_trajectories
from scripts.benchmarks.report import SuiteResult, markdown_table
from worldmodels.nha import node
from worldmodels.nha.cem import CEMConfig, plan, shift
from worldmodels.nha.data import segment
from worldmodels.nha.fit import NHAFitOptions, fit_model
from worldmodels.nha.pipeline import segment_labels
from worldmodels.nha.rk4 import rk4_solve


def node_returns(env, config, params, data, horizon: int):
    net = node._net(config, 2, 1)
    norm = data.normaliser
    dts = jnp.full(horizon * SUBSTEPS, env.dt / SUBSTEPS)

    def returns(x, actions, key):
        del key

        def one(seq):
            us = jnp.concatenate([jnp.repeat(seq[:, 0], SUBSTEPS), seq[-1:, 0]])[:, None]
            z0 = jnp.concatenate([norm(x), jnp.zeros(config.augment)])
            zs = rk4_solve(lambda z, u: net.apply({"params": params}, jnp.concatenate([z, u])), z0, dts, us)
            return norm.invert(zs[SUBSTEPS::SUBSTEPS, :2])
        return apex_returns(env, jax.vmap(one)(actions))

    return returns


def true_returns(env, horizon: int):
    def returns(x, actions, key):
        del key

        def one(seq):
            def step(s, u):
                s = env.advance(s, u[0], env.dt)
                return s, s
            return jax.lax.scan(step, x, seq)[1]
        return apex_returns(env, jax.vmap(one)(actions))

    return returns


def control_episodes(env, returns_fn, config: CEMConfig, decisions: int, episodes: int, seed: int) -> dict:
    """MPC on the true env: plan on `returns_fn`, act on the first push, replan every 0.1 s."""
    def episode(key):
        state = env.initial_state(key)

        def step(carry, k):
            state, mean = carry
            mean = plan(config, lambda a, kk: returns_fn(state, a, kk), mean, k)
            state, reward, _ = env.transition(state, mean[0], k)
            return (state, shift(mean, 0.5)), (reward, env.apex(state))

        init = (state, jnp.full((config.horizon, 1), 0.5))
        _, (rewards, apex) = jax.lax.scan(step, init, jax.random.split(jax.random.fold_in(key, 1), decisions))
        return rewards.sum(), jnp.mean(jnp.abs(apex[decisions // 2:] - env.target_height))

    keys = jax.random.split(jax.random.PRNGKey(seed + 100), episodes)
    ret, err = jax.jit(jax.vmap(episode))(keys)
    return {"return": float(np.mean(ret)), "return_std": float(np.std(ret)), "apex_error": float(np.mean(err))}


def run(out_dir: Path, quick: bool = False) -> SuiteResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    env = BouncingBallPaddle()
    episodes, epochs, tests, decisions = (8, 50, 1, 20) if quick else (32, 1000, 2, 30)
    train, test = collect(env, episodes, 50, 0), collect(env, max(episodes // 4, 2), 50, 1)
    data = segment(train, test)
    options = NHAFitOptions(epochs=epochs, event_steps=2 * epochs, progress=False, simulations=0)
    print(f"[nha-mpc] fitting NHA m=2 and NODE ({epochs} epochs)", flush=True)
    nha = fit_model("nha", data, 2, 0, options)
    node_data = whole_trajectories(data)
    node_fit = fit_model("node", node_data, 1, 0, replace(options, epochs=max(3 * epochs // 10, 1)))
    config = CEMConfig()
    flight = int(np.bincount(segment_labels(nha.model, data.train_segments)).argmax())  # the most used mode
    planners = {"true simulator": true_returns(env, config.horizon),
                "NHA (learned)": nha_returns(env, nha.model, flight, config.horizon),
                "NODE (learned)": node_returns(env, node.NODEConfig(), node_fit.model, node_data, config.horizon)}
    rows = []
    for name, returns_fn in planners.items():
        print(f"[nha-mpc] CEM on {name}", flush=True)
        started = time.perf_counter()
        result = control_episodes(env, returns_fn, config, decisions, tests, 0)
        rows.append({"planner model": name, "return (true env)": result["return"], "+-": result["return_std"],
                     "mean |apex - 2| (2nd half)": result["apex_error"], "seconds": time.perf_counter() - started})
    fits = [{"model": "NHA m=2", "test MSE (scaled)": nha.evaluation["test_mse"], "epochs": nha.evaluation["epochs"]},
            {"model": "NODE", "test MSE (scaled)": node_fit.evaluation["test_mse"],
             "epochs": node_fit.evaluation["epochs"]}]
    markdown = "\n\n".join(["## CEM-MPC on the paddle task, planned on each model, scored on the true env",
                            markdown_table(rows), "## Model fits (test segments; NODE: whole test trajectories)",
                            markdown_table(fits)])
    return SuiteResult(rows, markdown)
