"""The `nha-mpc` suite: CEM model-predictive control of `hybrid:bouncing_ball_paddle` (keep the apex at 2 m with the
paddle's push at each bounce, v+ = -e v- + kappa u, u chosen every 0.1 s) planned on three models: the learned NHA
(flows, a jump map of (x-, u), the known guard y = 0), one NODE of (x, u) fitted to whole trajectories, and the
true simulator (the upper bound). CEM: 64 samples, 8 iterations, 5 elites, a 2-s horizon (20 decisions).

Data: 32 episodes of 5 s with uniformly random pushes, sampled every 0.02 s; segments are cut where v increases
(a bounce). NHA is fitted for 1,000 epochs (2,000 event steps), NODE for 300, as in the
`nha` suite's bouncing ball. Evaluation: 2
episodes of 3 s from the env's initial states (planning is the slow part: 8 x 64 rollouts of 2 s per 0.1-s
decision), the true env's return (sum of -(apex - 2)^2 every 0.1 s) and the mean |apex - 2| over the second half.
`--quick`: 8 episodes, 50 epochs, 1 test episode of 2 s.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from envs.hybrid.paddle import BouncingBallPaddle
from envs.hybrid.records import Trajectories
from scripts.benchmarks.nha_ball import whole_trajectories
from scripts.benchmarks.report import SuiteResult, markdown_table
from worldmodels.nha import node
from worldmodels.nha.cem import CEMConfig, plan, shift
from worldmodels.nha.data import segment
from worldmodels.nha.fit import NHAFitOptions, fit_model
from worldmodels.nha.pipeline import segment_labels
from worldmodels.nha.rk4 import rk4_solve
from worldmodels.nha.simulate import simulate

SUBSTEPS = 5  # samples per 0.1-s decision


def collect(env: BouncingBallPaddle, episodes: int, decisions: int, seed: int) -> Trajectories:
    """Random-push episodes sampled every dt / SUBSTEPS, with the push held over each decision."""
    key = jax.random.PRNGKey(seed)
    starts = jax.vmap(env.initial_state)(jax.random.split(key, episodes))
    pushes = jax.random.uniform(jax.random.fold_in(key, 1), (episodes, decisions))
    h = env.dt / SUBSTEPS

    def episode(x0, us):
        def sample(x, u):
            x = env.advance(x, u, h)
            return x, (x, u)

        per_sample = jnp.repeat(us, SUBSTEPS)
        _, (xs, held) = jax.lax.scan(sample, x0, per_sample)
        return jnp.concatenate([x0[None], xs]), jnp.concatenate([per_sample, per_sample[-1:]])

    x, u = jax.jit(jax.vmap(episode))(starts, pushes)
    x, u = np.asarray(x, np.float64), np.asarray(u, np.float64)[..., None]
    t = np.broadcast_to(np.arange(x.shape[1]) * h, x.shape[:2]).copy()
    boundary = np.zeros(t.shape, bool)
    boundary[:, 0] = True
    boundary[:, 1:] = np.diff(x[..., 1], axis=1) > 1e-6  # in flight v only decreases; a bounce raises it
    return Trajectories(t, x, boundary=boundary, u=u)


def apex_returns(env: BouncingBallPaddle, states: jax.Array) -> jax.Array:
    """Sum over decision times of -(apex - h*)^2 from states `[..., decisions, 2]`."""
    return -jnp.sum((jax.vmap(env.apex)(states.reshape(-1, 2)).reshape(states.shape[:-1]) - env.target_height) ** 2,
                    axis=-1)


def nha_returns(env, model, flight: int, horizon: int):
    grid = jnp.arange(horizon * SUBSTEPS + 1) * env.dt / SUBSTEPS

    def returns(x, actions, key):
        def one(seq, k):
            controls = jnp.concatenate([jnp.repeat(seq[:, 0], SUBSTEPS), seq[-1:, 0]])[:, None]
            out = simulate(model, x, flight, grid, k, controls=controls, guard=lambda s: s[..., 0])
            return out["x"][SUBSTEPS::SUBSTEPS]
        states = jax.vmap(one)(actions, jax.random.split(key, actions.shape[0]))
        return apex_returns(env, states)

    return returns


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
