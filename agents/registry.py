"""Agent names on the command line -> their config class, constructor and training loop.

Entries name their classes as "module:attribute" strings and import them only when that agent is asked for,
so `--agent sac` does not import PPO's memory kernels, and one agent's missing optional dependency cannot
break another's command line.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any


def _load(path: str) -> Any:
    module, attribute = path.split(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class AgentEntry:
    name: str
    config_path: str  # "module:ConfigClass"
    agent_path: str  # "module:AgentClass", called as (config, env_spec) -> agent
    loop_path: str  # "module:LoopClass", called as (agent, env, chunk_steps, seed, ...) -> loop
    summary: str
    env_preset_path: str | None = None  # "module:function", (env string) -> make options the agent presets

    @property
    def config_cls(self) -> type:
        return _load(self.config_path)

    @property
    def build(self) -> Any:
        return _load(self.agent_path)

    @property
    def loop_cls(self) -> type:
        return _load(self.loop_path)

    def env_options(self, env_string: str) -> dict:
        """Make options the agent sets for `env_string` (METRA keeps Ant's position in the observation); none by
        default, and never one the string sets itself."""
        return _load(self.env_preset_path)(env_string) if self.env_preset_path else {}


OFF_POLICY = "core.loops.off_policy:OffPolicyLoop"
ON_POLICY = "core.loops.on_policy:OnPolicyLoop"
SELF_SUPERVISED = "core.loops.self_supervised:SelfSupervisedLoop"

AGENTS: dict[str, AgentEntry] = {
    "sac": AgentEntry("sac", "agents.sac:SACConfig", "agents.sac:SAC", OFF_POLICY,
                      "Soft Actor-Critic, continuous actions"),
    "ppo": AgentEntry("ppo", "agents.ppo:PPOConfig", "agents.ppo:PPO", ON_POLICY,
                      "PPO, discrete or continuous; recurrent with --memory gru"),
    "icrl": AgentEntry("icrl", "agents.icrl:ICRLConfig", "agents.ppo:PPO", ON_POLICY,
                       "in-context RL: recurrent PPO, S5 by default (--memory s5|s4d|selective|gru|lstm|none)"),
    "cql": AgentEntry("cql", "agents.cql:CQLConfig", "agents.cql:CQL", OFF_POLICY,
                      "Conservative Q-Learning, offline from --dataset (no env steps; --total-steps counts "
                      "gradient steps)"),
    "h2o": AgentEntry("h2o", "agents.h2o:H2OConfig", "agents.h2o:H2O", OFF_POLICY,
                      "H2O, hybrid offline + online: --dataset from the real system, --env an imperfect simulator "
                      "(e.g. shift:HalfCheetah-v5?gravity=2), evaluated in --eval-env"),
    "moorl": AgentEntry("moorl", "agents.moorl:MOORLConfig", "agents.moorl:MOORL", OFF_POLICY,
                        "MOORL, hybrid offline + online: SAC with a Reptile meta step across the --dataset buffer "
                        "and the online replay"),
    "sac-mix": AgentEntry("sac-mix", "agents.mixed_sac:MixedSACConfig", "agents.mixed_sac:MixedSAC", OFF_POLICY,
                          "SAC on half --dataset, half online minibatches (RLPD without ensembles), a hybrid "
                          "baseline"),
    "hnpg": AgentEntry("hnpg", "agents.hnpg:HNPGConfig", "agents.hnpg:HNPG", ON_POLICY,
                       "HNPG, hybrid on-policy natural policy gradient: the critic also fits --dataset (per-step "
                       "policies on the combination lock); --no-hybrid is plain NPG"),
    "metra": AgentEntry("metra", "agents.metra:METRAConfig", "agents.metra:METRA", OFF_POLICY,
                        "METRA, unsupervised skill discovery (no env reward): SAC on [obs, skill] rewarded by a "
                        "temporal-distance representation; --method diayn is the DIAYN baseline",
                        env_preset_path="agents.metra:env_preset"),
    "dreamer": AgentEntry("dreamer", "agents.dreamer:DreamerConfig", "agents.dreamer:Dreamer", OFF_POLICY,
                          "Dreamer, an actor-critic in the imagination of a world model learned from pixels: "
                          "--world-model hrssm (HRSSM, no decoder) or rssm (pixel decoder); image envs "
                          "(pixels:...), continuous actions"),
    "nha_control": AgentEntry("nha_control", "agents.nha_control.config:NHAControlConfig",
                              "agents.nha_control.agent:NHAControl", SELF_SUPERVISED,
                              "control with neural hybrid automata: target selection on hybrid:unicycle_resources, "
                              "CEM-MPC on a learned NHA on hybrid:bouncing_ball_paddle (--total-steps counts "
                              "gradient steps)"),
}


class UnknownAgentError(ValueError):
    pass


def get_agent(name: str) -> AgentEntry:
    if name in AGENTS:
        return AGENTS[name]
    close = difflib.get_close_matches(name, AGENTS, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownAgentError(f"unknown agent {name!r}{hint} (available: {', '.join(sorted(AGENTS))})")
