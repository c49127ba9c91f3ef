"""The few training loops every agent reuses."""
