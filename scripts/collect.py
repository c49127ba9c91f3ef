"""Make D4RL-like offline datasets with our SAC: `python scripts/collect.py --env jax:Pendulum-v1 --tier mini`.

The protocol follows D4RL (Fu et al. 2020), at whatever budget the tier gives. Train SAC on the env, keep a
snapshot of its state every --snapshot-every env steps and score each by the mean return of its *stochastic*
policy over --eval-episodes episodes; the random return is the mean over the whole episodes of uniform actions
that make the random dataset (at least --eval-episodes of them). Then:

  random         uniform actions
  expert         the best snapshot
  medium         the first snapshot whose (R - R_random) / (R_expert - R_random) reaches 1/3
  medium-replay  SAC's replay rows from step 0 up to the medium snapshot's step
  medium-expert  medium (cut at its last episode end) followed by expert

random, medium and expert roll out their policy with sampled actions, whole episodes, cut to --size rows.
Datasets are written in D4RL's HDF5 layout (OUT_DIR/{env}_{kind}-local-v0.hdf5) and/or as local Minari
datasets (id local/{env}/{kind}-v0 under --minari-root), with reference returns in their metadata: D4RL's for
halfcheetah, hopper, walker2d and ant, the locally measured random and expert returns otherwise.

The combination lock (jax:CombinationLock-v0, docs/combination_lock.md) gets the offline data of
Zhou et al. 2023 (arXiv 2311.08384) instead: --lock-episodes N skips SAC and writes one dataset, kind eps-greedy,
of N whole episodes of the epsilon-greedy behaviour (the correct one-hot action with probability 1 - --epsilon,
else a uniform one), rows in episode order; its references are the measured return of uniform actions and 1.
Errors exit 2 with one line.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

if __package__ in (None, ""):  # run as a file: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import tyro  # noqa: E402

from core.validation import (  # noqa: E402
    ConfigError,
    Range,
    flag,
    one_of,
    optional,
    positive,
    seed_range,
    text,
    unit_interval,
    widths,
)
from scripts.cli_errors import one_line_errors  # noqa: E402

KINDS = ("random", "medium", "medium-replay", "expert", "medium-expert")
Kind = Literal["random", "medium", "medium-replay", "expert", "medium-expert"]
LOCK_KIND = "eps-greedy"  # the combination lock's dataset (--lock-episodes)
LOCK_RANDOM_EPISODES = 1000  # episodes of uniform actions that measure the lock's random reference return
MEDIUM_FRACTION = 1 / 3
MAX_ROLLOUT_CHUNKS = 1000  # episodes that never end would otherwise roll out forever
kind_names = Range("a tuple of dataset kinds", lambda v: isinstance(v, tuple) and all(k in KINDS for k in v),
                   "one or more of " + ", ".join(KINDS), lambda v: len(v) > 0)


@dataclasses.dataclass(frozen=True)
class Tier:
    """A budget: rows per dataset, SAC training and its evaluation, network size."""

    size: int
    sac_steps: int
    snapshot_every: int
    eval_episodes: int
    hidden: tuple[int, ...]
    learning_starts: int
    batch_size: int
    learning_rate: float  # of SAC's actor, critics and temperature


TIERS = {
    "mini": Tier(2_000, 3_000, 500, 4, (32, 32), 500, 64, 1e-3),  # tests and a first look: a minute on a CPU
    "quick": Tier(100_000, 100_000, 5_000, 10, (256, 256), 5_000, 256, 3e-4),
    "full": Tier(1_000_000, 1_000_000, 10_000, 10, (256, 256), 5_000, 256, 3e-4),  # D4RL's sizes
}


@dataclasses.dataclass(frozen=True)
class CollectArgs:
    """Options of scripts/collect.py; those left out come from --tier."""

    env: Annotated[str, text]
    """The env, named as in scripts/train.py (jax:Pendulum-v1, gym:Hopper-v5, ...), with continuous actions."""
    kinds: Annotated[tuple[Kind, ...], kind_names] = KINDS
    """Which datasets to write."""
    out_dir: Annotated[str, text] = "datasets"
    """Folder of the D4RL files ({env}_{kind}-local-v0.hdf5)."""
    format: Annotated[Literal["d4rl", "minari", "both"], one_of("d4rl", "minari", "both")] = "both"
    """D4RL HDF5 files, local Minari datasets, or both."""
    minari_root: Annotated[str | None, optional(text)] = None
    """Root of the Minari datasets (None: OUT_DIR/minari); set MINARI_DATASETS_PATH to it to load them by id."""
    tier: Annotated[Literal["mini", "quick", "full"], one_of("mini", "quick", "full")] = "full"
    """Budget: mini (2k rows, 3k SAC steps, 32x32 nets), quick (100k, 100k, 256x256), full (D4RL's 1M, 1M)."""
    quick: Annotated[bool, flag] = False
    """Shorthand for --tier quick."""
    size: Annotated[int | None, optional(positive)] = None
    """Rows of each random, medium and expert dataset (None: the tier's)."""
    sac_steps: Annotated[int | None, optional(positive)] = None
    """Env steps of SAC training, rounded up to whole --snapshot-every (None: the tier's)."""
    snapshot_every: Annotated[int | None, optional(positive)] = None
    """Env steps between SAC snapshots (None: the tier's)."""
    eval_episodes: Annotated[int | None, optional(positive)] = None
    """Episodes that score each snapshot, and the fewest that score the random policy (None: the tier's)."""
    hidden: Annotated[tuple[int, ...] | None, optional(widths)] = None
    """Hidden widths of SAC's actor and critics (None: the tier's)."""
    seed: Annotated[int, seed_range] = 0
    """Seed of training, rollouts and the episodes' seeds."""
    overwrite: Annotated[bool, flag] = False
    """Replace datasets that already exist (refused otherwise)."""
    progress: Annotated[bool, flag] = True
    """Show a progress bar (--no-progress to hide it)."""
    lock_episodes: Annotated[int | None, optional(positive)] = None
    """Combination lock only (jax:CombinationLock-v0...): skip SAC and write the eps-greedy dataset of this many
    whole episodes instead ({env}_eps_greedy-local-v0.hdf5); --kinds and the SAC budget are then unused."""
    epsilon: Annotated[float | None, optional(unit_interval)] = None
    """With --lock-episodes: the chance of a uniform action in [0, 1]^A instead of the correct one-hot at each
    step (None: 1/H, the paper's choice, which opens the lock in ~40 % of episodes)."""


@dataclasses.dataclass(frozen=True)
class Snapshot:
    step: int
    actor: dict  # the actor's parameters, on the host
    returns: np.ndarray  # returns of its stochastic policy

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns))


@dataclasses.dataclass(frozen=True)
class Behaviours:
    """What training measured: every snapshot, the random returns, the replay rows, and the two chosen."""

    snapshots: list[Snapshot]
    random_rows: dict  # the random dataset, D4RL arrays
    random_returns: np.ndarray
    replay_rows: object  # the replay's Transition rows in step order, on the host
    actor_net: object  # the flax module the snapshots' parameters belong to
    medium: Snapshot
    expert: Snapshot

    @property
    def random_return(self) -> float:
        return float(np.mean(self.random_returns))


# --- the command ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> tuple[CollectArgs, Tier]:
    from core.validation import check_config

    args = tyro.cli(CollectArgs, args=argv, description=__doc__)
    check_config(args)
    return args, resolved_tier(args)


def resolved_tier(args: CollectArgs) -> Tier:
    """The tier's budget with the options given on the command line in place, SAC steps in whole snapshots."""
    tier = TIERS["quick" if args.quick else args.tier]
    given = {name: getattr(args, name) for name in ("size", "sac_steps", "snapshot_every", "eval_episodes", "hidden")
             if getattr(args, name) is not None}
    tier = dataclasses.replace(tier, **given)
    sac_steps = -(-tier.sac_steps // tier.snapshot_every) * tier.snapshot_every
    if sac_steps != tier.sac_steps:
        print(f"--sac-steps {tier.sac_steps} rounded up to {sac_steps}, whole snapshots of {tier.snapshot_every}",
              file=sys.stderr)
    # Warm-up stays a fraction of a short training, so SAC still learns in a small budget.
    return dataclasses.replace(tier, sac_steps=sac_steps, learning_starts=min(tier.learning_starts, sac_steps // 4))


def main(argv: list[str] | None = None) -> dict:
    """Collect the datasets the command line asks for; returns where they are and the reference returns."""
    import envs

    argv = sys.argv[1:] if argv is None else argv
    args, tier = parse_args(argv)
    env = envs.make(args.env)
    if args.lock_episodes is not None or args.epsilon is not None:
        return collect_lock(args, env)
    agent = build_sac(env, tier)  # refuses an env SAC cannot act in before anything is written
    targets = output_targets(args)
    clear_targets(targets, args.overwrite)
    with progress_bar(args.progress) as progress:
        behaviours = train_behaviours(agent, env, tier, args.seed, progress)
        datasets = build_datasets(args.kinds, env, tier, behaviours, args.seed, progress)
    written = {kind: write_dataset(targets[kind], rows, dataset_metadata(kind, args, tier, behaviours, extra), env)
               for kind, (rows, extra) in datasets.items()}
    return report(args, behaviours, written)


def cli() -> None:
    with one_line_errors("collect"):
        main()


# --- the combination lock's epsilon-greedy data -----------------------------------------------------------------


def collect_lock(args: CollectArgs, env) -> dict:
    """The eps-greedy dataset of the combination lock, and its references: uniform actions' return and 1."""
    import jax

    from envs.classic.combination_lock import CombinationLock, epsilon_greedy_episodes

    if not isinstance(env, CombinationLock):
        raise ConfigError(f"--lock-episodes and --epsilon are for the combination lock (jax:CombinationLock-v0), "
                          f"not {args.env}")
    if args.lock_episodes is None:
        raise ConfigError("--epsilon needs --lock-episodes N (the episodes of the eps-greedy dataset)")
    epsilon = 1.0 / env.horizon if args.epsilon is None else args.epsilon
    target = output_targets(args, (LOCK_KIND,))[LOCK_KIND]
    clear_targets({LOCK_KIND: target}, args.overwrite)
    key, random_key = jax.random.split(jax.random.PRNGKey(args.seed))
    arrays = epsilon_greedy_episodes(env, key, args.lock_episodes, epsilon)
    random_returns = episode_returns(epsilon_greedy_episodes(env, random_key, LOCK_RANDOM_EPISODES, 1.0))
    opened = arrays["rewards"][arrays["terminals"]] == 1.0  # the last step pays 1 only where the lock opens
    metadata = lock_metadata(args, env, epsilon, episode_returns(arrays), float(np.mean(random_returns)))
    metadata["success_fraction"] = float(np.mean(opened))
    written = write_dataset(target, arrays, metadata, env)
    places = ", ".join(str(written[key]) for key in ("d4rl", "minari") if key in written)
    print(f"{LOCK_KIND}: {written['rows']} rows, {written['episodes']} episodes, opened "
          f"{metadata['success_fraction']:.1%}, behaviour return {written['behaviour_return']:.3f} (random "
          f"{metadata['ref_min_score']:.3f}) -> {places}")
    return {"datasets": {LOCK_KIND: written}, "random_return": metadata["ref_min_score"],
            "expert_return": metadata["ref_max_score"], "success_fraction": metadata["success_fraction"]}


def lock_metadata(args: CollectArgs, env, epsilon: float, returns: np.ndarray, random_return: float) -> dict:
    """What the lock's dataset records: references, the behaviour, and the lock it was collected on."""
    return {
        "ref_min_score": random_return, "ref_max_score": 1.0, "ref_source": "local",
        "local_random_return": random_return, "local_expert_return": 1.0,
        "env_id": args.env, "dataset_kind": LOCK_KIND, "seed": args.seed,
        "behaviour_return_mean": float(returns.mean()), "behaviour_return_std": float(returns.std()),
        "epsilon": float(epsilon),
        "algorithm": "eps-greedy", "policy/output_distribution": "eps_greedy_one_hot",
        "horizon": env.horizon, "lock_seed": env.lock_seed,
        "opt_a": env.opt_a.tolist(), "opt_b": env.opt_b.tolist(),
    }


# --- training and choosing the behaviour policies ------------------------------------------------------------


def build_sac(env, tier: Tier):
    from agents.sac import SAC, SACConfig

    rate = tier.learning_rate
    config = SACConfig(hidden=tier.hidden, batch_size=tier.batch_size, buffer_size=tier.sac_steps,
                       actor_lr=rate, critic_lr=rate, alpha_lr=rate,
                       learning_starts=tier.learning_starts, num_envs=1)  # one env: replay rows in step order
    return SAC(config, env.spec)


def train_behaviours(agent, env, tier: Tier, seed: int, progress) -> Behaviours:
    """Train SAC, score a snapshot every `snapshot_every` steps, and pick the medium and expert ones."""
    import jax

    from core.loops.off_policy import OffPolicyLoop

    loop = OffPolicyLoop(agent, env, tier.snapshot_every, seed, deterministic_eval=False)
    task = progress.add_task("train SAC", total=tier.sac_steps)
    snapshots = []
    try:
        carry = loop.init_carry(jax.random.PRNGKey(seed))
        for step in range(tier.snapshot_every, tier.sac_steps + 1, tier.snapshot_every):
            carry, _ = loop.advance(carry)
            returns = np.asarray(loop.evaluate(carry, tier.eval_episodes))
            snapshots.append(Snapshot(step, jax.device_get(carry.agent.actor), returns))
            progress.update(task, completed=step, description=f"train SAC (return {snapshots[-1].mean_return:.1f})")
        replay_rows = jax.device_get(carry.replay.data)
    finally:
        loop.close()
    random_rows, random_returns = random_rollout(env, tier, seed, progress)
    medium, expert = choose_medium_and_expert(snapshots, float(np.mean(random_returns)))
    return Behaviours(snapshots, random_rows, random_returns, replay_rows, agent.actor_net, medium, expert)


def choose_medium_and_expert(snapshots: list[Snapshot], random_return: float) -> tuple[Snapshot, Snapshot]:
    """Expert: the best snapshot; medium: the first that closes a third of the gap from random to expert."""
    expert = max(snapshots, key=lambda snapshot: snapshot.mean_return)
    gap = expert.mean_return - random_return
    if gap <= 0:
        print(f"warning: no SAC snapshot beat the random policy ({expert.mean_return:.1f} <= {random_return:.1f}); "
              "medium is the expert snapshot", file=sys.stderr)
        return expert, expert
    medium = next(s for s in snapshots if (s.mean_return - random_return) / gap >= MEDIUM_FRACTION)
    return medium, expert


def random_rollout(env, tier: Tier, seed: int, progress) -> tuple[dict, np.ndarray]:
    """The random dataset (uniform actions, `size` rows) and the random return: the mean over its whole
    episodes, at least `eval_episodes` of them (the rollout goes on until there are that many)."""
    rows = roll_out(env, uniform_act(env.spec.action_space), None, tier.size, _rollout_seed(seed, "random"),
                    progress, "random", min_episodes=tier.eval_episodes)
    returns = episode_returns(d4rl_arrays(rows, env.spec.action_space))
    return d4rl_arrays(cut(rows, tier.size), env.spec.action_space), returns


def _rollout_seed(seed: int, kind: str) -> int:
    return seed + 1_000 * (1 + KINDS.index(kind))


# --- rolling out a policy --------------------------------------------------------------------------------------


def _uniform(key, batch: int, space):
    import jax

    return jax.random.uniform(key, (batch, *space.shape), minval=-1.0, maxval=1.0)


def uniform_act(space) -> Callable:
    """Acting function (core/rollout's `ActFn`) of uniform actions; their log-density on [-1, 1]^A is -A log 2."""
    import jax.numpy as jnp

    log_density = -math.prod(space.shape) * math.log(2.0)

    def act(params, carry, obs, first, key):
        return carry, _uniform(key, obs.shape[0], space), {"behaviour_logp": jnp.full(obs.shape[:1], log_density)}

    return act


def snapshot_act(actor_net) -> Callable:
    """Acting function of a snapshot's stochastic policy, with the tanh-Gaussian log-density of each action."""
    from agents.networks import sample_tanh_gaussian

    def act(actor_params, carry, obs, first, key):
        mean, log_std = actor_net.apply(actor_params, obs)
        action, logp = sample_tanh_gaussian(mean, log_std, key)
        return carry, action, {"behaviour_logp": logp}

    return act


def roll_out(env, act: Callable, params, size: int, seed: int, progress, label: str, min_episodes: int = 1):
    """Whole episodes of `act`, at least `size` rows and `min_episodes` of them, as a numpy `Transition` in agent
    units (`cut` it to `size`)."""
    import jax

    from core.rollout import HostCollector, JaxCollector
    from envs.protocol import JaxEnv

    length = env.spec.max_episode_steps
    num_envs = max(1, min(32, -(-size // length)))
    task = progress.add_task(f"roll out {label}", total=size)
    if isinstance(env, JaxEnv):
        collector = JaxCollector(env, num_envs, act)
        state, rollout = collector.reset(jax.random.PRNGKey(seed)), jax.jit(collector.rollout, static_argnums=3)
    else:
        collector = HostCollector(env, num_envs, seed, act)
        state, rollout = collector.reset(), collector.rollout
    chunks, key = [], jax.random.PRNGKey(seed + 1)
    try:
        for _ in range(MAX_ROLLOUT_CHUNKS):
            key, chunk_key = jax.random.split(key)
            state, transitions, _ = rollout(params, state, chunk_key, length)
            chunks.append(jax.device_get(transitions))
            rows = whole_episode_rows(chunks)
            progress.update(task, completed=min(size, rows.num_rows))
            if rows.num_rows >= size and int(np.sum(rows.first)) >= min_episodes:
                return rows
    finally:
        if not isinstance(env, JaxEnv):
            collector.close()
    raise ValueError(f"{env.spec.name}: {MAX_ROLLOUT_CHUNKS} rollouts of {length} steps finished too few episodes "
                     f"for {size} rows")


def cut(rows, size: int):
    """The first `size` rows: whole episodes, the last one cut short."""
    import jax

    return jax.tree.map(lambda x: x[:size], rows)


def whole_episode_rows(chunks: list):
    """The finished episodes of rollout chunks ([T, B] each), env after env, as one numpy `Transition` [N]."""
    import jax

    stream = jax.tree.map(lambda *xs: np.swapaxes(np.concatenate(xs), 0, 1), *chunks)  # [B, T]
    ends = np.logical_or(stream.terminated, stream.truncated)
    finished = [int(np.flatnonzero(row)[-1]) + 1 if row.any() else 0 for row in ends]
    return jax.tree.map(lambda x: np.concatenate([x[b, :n] for b, n in enumerate(finished)]), stream)


# --- the five kinds ----------------------------------------------------------------------------------------------


def build_datasets(kinds: tuple[str, ...], env, tier: Tier, behaviours: Behaviours, seed: int,
                   progress) -> dict[str, tuple[dict, dict]]:
    """Kind -> (D4RL arrays, what its metadata says about the behaviour); medium-expert reuses medium and expert."""
    built: dict[str, tuple[dict, dict]] = {}

    def rolled(kind: str) -> tuple[dict, dict]:
        if kind not in built:
            built[kind] = rolled_out(kind, env, tier, behaviours, seed, progress)
        return built[kind]

    for kind in kinds:
        if kind == "medium-replay":
            built[kind] = replay_dataset(env, behaviours)
        elif kind == "medium-expert":
            (medium, medium_info), (expert, expert_info) = rolled("medium"), rolled("expert")
            arrays = {key: np.concatenate([cut_at_last_episode_end(medium)[key], expert[key]]) for key in expert}
            built[kind] = arrays, {"step": expert_info["step"], "steps": [medium_info["step"], expert_info["step"]],
                                   "returns": np.concatenate([medium_info["returns"], expert_info["returns"]])}
        else:
            rolled(kind)
    return {kind: built[kind] for kind in kinds}


def replay_dataset(env, behaviours: Behaviours) -> tuple[dict, dict]:
    """SAC's replay rows up to the medium snapshot; its behaviour return is that of the episodes finished there."""
    import jax

    rows = jax.tree.map(lambda x: np.asarray(x)[:behaviours.medium.step], behaviours.replay_rows)
    arrays = d4rl_arrays(rows, env.spec.action_space)
    returns = episode_returns(arrays)
    return arrays, {"step": behaviours.medium.step, "returns": returns if len(returns) else np.full(1, np.nan)}


def rolled_out(kind: str, env, tier: Tier, behaviours: Behaviours, seed: int, progress) -> tuple[dict, dict]:
    """The random, medium or expert dataset: whole episodes of its policy with sampled actions."""
    if kind == "random":
        return behaviours.random_rows, {"step": 0, "returns": behaviours.random_returns}
    snapshot = behaviours.medium if kind == "medium" else behaviours.expert
    rows = roll_out(env, snapshot_act(behaviours.actor_net), snapshot.actor, tier.size, _rollout_seed(seed, kind),
                    progress, kind)
    return d4rl_arrays(cut(rows, tier.size), env.spec.action_space), {"step": snapshot.step,
                                                                       "returns": snapshot.returns}


def d4rl_arrays(rows, space) -> dict:
    """A numpy `Transition` in agent units as D4RL arrays in env units (D4RL files hold the env's actions)."""
    from core.actions import to_env_action
    from core.datasets import transitions_to_d4rl

    arrays = transitions_to_d4rl(rows)
    arrays["actions"] = np.asarray(to_env_action(space, arrays["actions"]), np.float32)
    return arrays


def cut_at_last_episode_end(arrays: dict) -> dict:
    """The rows up to the last that ends an episode (all of them if none does)."""
    ends = np.flatnonzero(np.logical_or(arrays["terminals"], arrays["timeouts"]))
    stop = int(ends[-1]) + 1 if len(ends) else len(arrays["rewards"])
    return {key: value[:stop] for key, value in arrays.items()}


def episode_returns(arrays: dict) -> np.ndarray:
    """Returns of the episodes that end inside the rows (a cut last one is left out)."""
    ends = np.flatnonzero(np.logical_or(arrays["terminals"], arrays["timeouts"]))
    sums = np.cumsum(arrays["rewards"], dtype=np.float64)[ends]
    return np.diff(np.concatenate([[0.0], sums]))


def episode_count(arrays: dict) -> int:
    """Episodes in the rows, a cut last one included."""
    ends = np.logical_or(arrays["terminals"], arrays["timeouts"])
    return int(ends[:-1].sum()) + 1 if len(ends) else 0


# --- metadata and writing ------------------------------------------------------------------------------------


def dataset_metadata(kind: str, args: CollectArgs, tier: Tier, behaviours: Behaviours, extra: dict) -> dict:
    from core.datasets import reference_returns

    refs = reference_returns(args.env)
    ref_min, ref_max = refs or (behaviours.random_return, behaviours.expert.mean_return)
    returns = np.asarray(extra["returns"], np.float64)
    metadata = {
        "ref_min_score": float(ref_min), "ref_max_score": float(ref_max), "ref_source": "d4rl" if refs else "local",
        "local_random_return": behaviours.random_return, "local_expert_return": behaviours.expert.mean_return,
        "env_id": args.env, "dataset_kind": kind, "seed": args.seed,
        "behaviour_checkpoint_step": int(extra["step"]), "behaviour_return_mean": float(returns.mean()),
        "behaviour_return_std": float(returns.std()),
        "algorithm": "SAC", "iteration": int(extra["step"]), "policy/nonlinearity": "relu",
        "policy/output_distribution": "uniform" if kind == "random" else "tanh_gaussian",
        "sac_steps": tier.sac_steps, "snapshot_every": tier.snapshot_every, "eval_episodes": tier.eval_episodes,
        "hidden": list(tier.hidden), "medium_step": behaviours.medium.step, "expert_step": behaviours.expert.step,
    }
    if "steps" in extra:
        metadata["behaviour_checkpoint_steps"] = [int(step) for step in extra["steps"]]
    return metadata


def env_slug(env_name: str) -> str:
    """The env name as a file and Minari id part: jax:Pendulum-v1 -> jax-Pendulum-v1."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", env_name).strip("-")


@dataclasses.dataclass(frozen=True)
class Target:
    d4rl_path: Path | None
    minari_id: str | None
    minari_root: Path | None

    @property
    def minari_folder(self) -> Path | None:
        return None if self.minari_id is None else self.minari_root / self.minari_id


def output_targets(args: CollectArgs, kinds: tuple[str, ...] | None = None) -> dict[str, Target]:
    """Where each of `kinds` (None: --kinds) goes."""
    out_dir = Path(args.out_dir)
    root = Path(args.minari_root) if args.minari_root else out_dir / "minari"
    slug = env_slug(args.env)
    return {kind: Target(out_dir / f"{slug}_{kind.replace('-', '_')}-local-v0.hdf5" if args.format != "minari"
                         else None,
                         f"local/{slug}/{kind}-v0" if args.format != "d4rl" else None, root)
            for kind in (args.kinds if kinds is None else kinds)}


def clear_targets(targets: dict[str, Target], overwrite: bool) -> None:
    """Refuse (before any training) to write over a dataset, unless `overwrite`, which removes it now."""
    for target in targets.values():
        for path in (target.d4rl_path, target.minari_folder):
            if path is not None and path.exists():
                if not overwrite:
                    raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def write_dataset(target: Target, arrays: dict, metadata: dict, env) -> dict:
    from core.datasets import write_d4rl, write_minari

    action_space = env.spec.action_space
    metadata = {**metadata, "num_episodes": episode_count(arrays),
                "action_low": action_space.low.tolist(), "action_high": action_space.high.tolist()}
    written = {"rows": len(arrays["rewards"]), "episodes": metadata["num_episodes"],
               "behaviour_return": metadata["behaviour_return_mean"]}
    if target.d4rl_path is not None:
        written["d4rl"] = str(write_d4rl(target.d4rl_path, arrays, metadata))
    if target.minari_id is not None:
        write_minari(target.minari_id, arrays, env.spec, metadata["ref_min_score"], metadata["ref_max_score"],
                     metadata, root=target.minari_root)
        written["minari"] = str(target.minari_folder)
    return written


def report(args: CollectArgs, behaviours: Behaviours, written: dict) -> dict:
    print(f"random return {behaviours.random_return:.1f}; expert (step {behaviours.expert.step}) "
          f"{behaviours.expert.mean_return:.1f}; medium (step {behaviours.medium.step}) "
          f"{behaviours.medium.mean_return:.1f}")
    for kind, where in written.items():
        places = ", ".join(str(where[key]) for key in ("d4rl", "minari") if key in where)
        print(f"{kind:>14}: {where['rows']} rows, {where['episodes']} episodes, behaviour return "
              f"{where['behaviour_return']:.1f} -> {places}")
    return {"datasets": written, "random_return": behaviours.random_return,
            "expert_return": behaviours.expert.mean_return, "medium_step": behaviours.medium.step,
            "expert_step": behaviours.expert.step}


@contextmanager
def progress_bar(enabled: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                        disable=not enabled or not console.is_terminal)
    with progress:
        yield progress


if __name__ == "__main__":
    cli()
