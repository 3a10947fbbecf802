"""The sandbox control API: call stats, fault injection, state snapshots."""
