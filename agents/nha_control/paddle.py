"""CEM model-predictive control of `hybrid:bouncing_ball_paddle` planned on a learned neural hybrid automaton.

Data: random-push episodes of the env (5 s, the push held for each 0.1-s decision), sampled every 0.02 s and cut
into segments where v increases (a bounce: in flight v only decreases). The NHA (encoder and per-mode flows, then
pruning and the event module, whose jump map reads the push u) is fitted in the stages of worldmodels/nha; the
guard y = 0 is known. Each decision, CEM (Rubinstein 1999) samples push sequences over the horizon, scores each
by the sum of -(apex - h*)^2 at the decision times of the model's rollout, refits its Gaussian to the elites, and
the first push of the refined mean is applied; the mean, shifted by one decision, warm-starts the next plan.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from agents.nha_control.config import NHAControlConfig
from core.protocols import SelfSupervisedLearner
from core.rollout import evaluate_jax_with_memory
from core.validation import ConfigError
from envs.hybrid.paddle import BouncingBallPaddle
from envs.hybrid.records import Trajectories
from worldmodels.nha import modes as mode_stage
from worldmodels.nha.cem import CEMConfig, plan, shift
from worldmodels.nha.data import FitData, segment
from worldmodels.nha.events import EventConfig
from worldmodels.nha.model import NHAModel
from worldmodels.nha.pipeline import build_model, segment_labels
from worldmodels.nha.segments import windows
from worldmodels.nha.simulate import simulate
from worldmodels.nha.training import full_batch_step

SUBSTEPS = 5  # samples per 0.1-s decision
DATA_DECISIONS = 50  # 5-s data episodes
WINDOW = 50  # training windows of at most this many samples (worldmodels/nha/segments.windows)


def collect(env: BouncingBallPaddle, episodes: int, decisions: int, seed: int) -> Trajectories:
    """Random-push episodes sampled every dt / SUBSTEPS, with the push held over each decision."""
    key = jax.random.PRNGKey(seed)
    starts = jax.vmap(env.initial_state)(jax.random.split(key, episodes))
    pushes = jax.random.uniform(jax.random.fold_in(key, 1), (episodes, decisions))
    h = env.dt / SUBSTEPS

    def episode(x0, us):
        def sample(x, u):
            x = env.advance(x, u, h)
            return x, x

        per_sample = jnp.repeat(us, SUBSTEPS)
        _, xs = jax.lax.scan(sample, x0, per_sample)
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
    apex = jax.vmap(env.apex)(states.reshape(-1, 2)).reshape(states.shape[:-1])
    return -jnp.sum((apex - env.target_height) ** 2, axis=-1)


def nha_returns(env: BouncingBallPaddle, model: NHAModel, flight: int, horizon: int):
    """`returns(x [2], actions [samples, horizon, 1], key) -> [samples]`: each push sequence rolled out on the
    learned automaton from `x` (in its `flight` mode, the guard y = 0) and scored at the decision times."""
    grid = jnp.arange(horizon * SUBSTEPS + 1) * env.dt / SUBSTEPS

    def returns(x, actions, key):
        def one(sequence, k):
            controls = jnp.concatenate([jnp.repeat(sequence[:, 0], SUBSTEPS), sequence[-1:, 0]])[:, None]
            out = simulate(model, x, flight, grid, k, controls=controls, guard=lambda s: s[..., 0])
            return out["x"][SUBSTEPS::SUBSTEPS]

        states = jax.vmap(one)(actions, jax.random.split(key, actions.shape[0]))
        return apex_returns(env, states)

    return returns


@struct.dataclass
class FitState:
    params: Any  # encoder and flows
    opt_state: Any
    key: jax.Array


class PaddleMPC(SelfSupervisedLearner):
    """The NHA fit (one full-batch epoch per gradient step), the automaton built from it, and CEM acting on it."""

    phases = ("fit",)

    def __init__(self, config: NHAControlConfig, env: BouncingBallPaddle, seed: int):
        if config.cem_elites > config.cem_samples:
            raise ConfigError(f"--cem-elites {config.cem_elites} is more than --cem-samples {config.cem_samples}")
        self.config = config
        self.env = env
        self.data: FitData = segment(collect(env, config.episodes, DATA_DECISIONS, seed),
                                     collect(env, max(config.episodes // 4, 2), DATA_DECISIONS, seed + 10_000))
        self.mode_config = mode_stage.ModeConfig(modes=config.modes, encoder_lr=config.encoder_lr,
                                                 flow_lr=config.flow_lr)
        train = windows(self.data.train_segments, WINDOW)
        self.optimizer = mode_stage.optimizer(self.mode_config)
        self.step = full_batch_step(mode_stage.loss_fn(self.mode_config, train), self.optimizer)
        self.cem = CEMConfig(samples=config.cem_samples, iterations=config.cem_iterations, elites=config.cem_elites,
                             horizon=config.cem_horizon)
        self._built: tuple[Any, NHAModel, int] | None = None  # (params it was built from, model, flight mode)

    def init(self, key: jax.Array) -> FitState:
        init_key, fit_key = jax.random.split(key)
        params = mode_stage.init_mode_params(self.mode_config, init_key, 2, 1)
        return FitState(params, self.optimizer.init(params), fit_key)

    def phase_steps(self) -> dict[str, int]:
        return {}

    def update(self, state: FitState, phase: str, key: jax.Array) -> tuple[FitState, dict]:
        del phase, key  # the fit carries its own key, as in worldmodels/nha
        (params, opt_state, fit_key), loss = self.step((state.params, state.opt_state, state.key), None)
        return FitState(params, opt_state, fit_key), {"fit_loss": loss}

    # --- the automaton ------------------------------------------------------------------------------------------
    def automaton(self, state: FitState) -> tuple[NHAModel, int]:
        """The NHA of the current fit (pruning and the event module fitted on the host) and its flight mode, the
        mode most training segments take; rebuilt only when the fit has moved."""
        if self._built is not None and self._built[0] is state.params:
            return self._built[1], self._built[2]
        events = EventConfig(steps=self.config.event_steps)
        model, _ = build_model(self.mode_config, events, state.params, self.data.train_segments,
                               self.data.normaliser, jax.random.fold_in(state.key, 2))
        flight = int(np.bincount(segment_labels(model, self.data.train_segments)).argmax())
        self._built = (state.params, model, flight)
        return model, flight

    # --- acting -------------------------------------------------------------------------------------------------
    def initial_memory(self, episodes: int) -> jax.Array:
        """Each episode's warm-start push sequence `[episodes, horizon, 1]`."""
        return jnp.full((episodes, self.cem.horizon, 1), 0.5)

    def policy(self, state: FitState):
        """`act(model, memory, obs, first, key) -> (memory, push)` and the automaton it plans on."""
        model, flight = self.automaton(state)

        def act(model, memory, obs, first, key):
            returns_fn = nha_returns(self.env, model, flight, self.cem.horizon)
            memory = jnp.where(first[:, None, None], 0.5, memory)
            keys = jax.random.split(key, obs.shape[0])
            means = jax.vmap(lambda x, mean, k: plan(self.cem, lambda a, kk: returns_fn(x, a, kk), mean, k))(
                obs, memory, keys)
            return jax.vmap(shift, in_axes=(0, None))(means, 0.5), means[:, 0]

        return act, model

    def evaluate(self, state: FitState, env: BouncingBallPaddle, episodes: int, key: jax.Array):
        """(returns, metrics) of `episodes` CEM-controlled episodes of `env`, one compiled scan; the metric
        `rms_apex_error` is the root-mean-square of (apex - h*) over every decision (the reward's square root)."""
        act, model = self.policy(state)
        memory = self.initial_memory(episodes)
        run = jax.jit(lambda model, key: evaluate_jax_with_memory(env, partial(act, model), memory, key, episodes))
        returns = np.asarray(run(model, key))
        rms = float(np.sqrt(np.mean(-returns) / env.max_episode_steps))
        return returns, {"rms_apex_error": rms}
