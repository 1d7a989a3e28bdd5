"""The profile's deployment commands: placeholders filled, and the installed version read back.

`{version}` / `{environment}` (and any other placeholder a command names) are filled from the values
given; an unknown placeholder is a profile error naming it, never a command run with a literal brace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ivv.errors import ProfileError

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render(command: str, values: Mapping[str, object], where: str = "deployment command") -> str:
    """Fill `{name}` placeholders; an unknown placeholder is a profile error naming it."""
    def sub(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise ProfileError(f"{where}: placeholder {{{name}}} has no value (known: {sorted(values)})")
        return str(values[name])
    return _PLACEHOLDER.sub(sub, command)


def operation_commands(profile, operation: str, values: Mapping[str, object]) -> list[str]:
    """The profile's commands of one deployment operation with their placeholders filled."""
    return [render(c, values, f"{profile.path}: deployment.{operation}") for c in profile.commands(operation)]


def installed_version(target, profile) -> str | None:
    """The release the profile's `version_command` reports on the target (None: none, or no command)."""
    command = (profile.deployment or {}).get("version_command")
    if not command:
        return None
    result = target.run(command, timeout=30)
    return (result.stdout.strip() or None) if result.exit_status == 0 else None


