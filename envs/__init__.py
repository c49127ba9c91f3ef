"""Environments behind one functional protocol, adapters and the env families."""
