"""Integrity suite: files the stack moves, checked at both ends on the target (the `api_checks` protocol
for the calls, `deployed_stack` for the target's shell)."""
