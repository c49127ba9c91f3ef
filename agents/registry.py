"""Agent names on the command line -> their config class, constructor and training loop."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.icrl import ICRLConfig
from agents.ppo import PPO, PPOConfig
from agents.sac import SAC, SACConfig
from core.loops.off_policy import OffPolicyLoop
from core.loops.on_policy import OnPolicyLoop


@dataclass(frozen=True)
class AgentEntry:
    name: str
    config_cls: type
    build: Callable[[Any, Any], Any]  # (config, env_spec) -> agent
    loop_cls: type  # (agent, env, chunk_steps, seed) -> loop
    summary: str


AGENTS: dict[str, AgentEntry] = {
    "sac": AgentEntry("sac", SACConfig, SAC, OffPolicyLoop, "Soft Actor-Critic, continuous actions"),
    "ppo": AgentEntry("ppo", PPOConfig, PPO, OnPolicyLoop, "PPO, discrete or continuous; recurrent with --memory gru"),
    "icrl": AgentEntry("icrl", ICRLConfig, PPO, OnPolicyLoop,
                       "in-context RL: recurrent PPO, S5 by default (--memory s5|s4d|selective|gru|lstm|none)"),
}


class UnknownAgentError(ValueError):
    pass


def get_agent(name: str) -> AgentEntry:
    if name in AGENTS:
        return AGENTS[name]
    close = difflib.get_close_matches(name, AGENTS, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownAgentError(f"unknown agent {name!r}{hint} (available: {', '.join(sorted(AGENTS))})")
