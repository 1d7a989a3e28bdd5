"""Targets: where the stack runs. One module per kind, registered by the kind name the inventory uses."""

from ivv.targets.base import CommandResult, Target, create_target, register_target, target_kinds

__all__ = ["CommandResult", "Target", "create_target", "register_target", "target_kinds"]
