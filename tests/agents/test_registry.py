"""The agent registry imports an agent's module only when that agent is asked for."""

import subprocess
import sys


def test_the_agent_registry_imports_an_agent_only_when_asked_for():
    probe = ("import sys, agents.registry as r; before = 'agents.ppo' in sys.modules or 'agents.cql' in sys.modules; "
             "r.get_agent('ppo').config_cls; print(before, 'agents.ppo' in sys.modules, 'agents.cql' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "False"]
