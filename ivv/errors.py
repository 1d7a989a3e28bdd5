"""One exception class per domain, so callers can tell bad input from a dead device.

Messages name the file, field or host and say what was expected.
"""


class IvvError(Exception):
    """Base of every error the harness raises on purpose."""


class ConfigError(IvvError):
    """A configuration file (gate, waiver, inventory, profile, contract) is wrong. Exit status 2."""


class GateError(ConfigError):
    """A gate file is missing or invalid."""


class WaiverError(ConfigError):
    """A waiver file is missing or invalid."""


class InventoryError(ConfigError):
    """An inventory file is missing or invalid, or names an unknown target."""


class ProfileError(ConfigError):
    """A stack profile is missing or invalid."""


class ContractError(ConfigError):
    """A contract (OpenRPC document) is missing or invalid."""


class PrerequisiteError(IvvError):
    """A host tool the harness needs (qemu, debootstrap, ssh...) is missing. Exit status 2."""


class TargetError(IvvError):
    """A target could not do what was asked."""


class TargetUnreachable(TargetError):
    """A target did not answer within the bounded wait."""


class CapabilityMissing(TargetError):
    """A target lacks a capability (power, reset, link) that a check needs."""


class StackError(TargetError):
    """A stack could not do what was asked, or the move is impossible from its current status."""
