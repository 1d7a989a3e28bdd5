"""What was deployed, so a report says exactly what was judged: the release (version, archive sha256),
its Python packages (the profile's `deployment.packages_command`, e.g. a listing of the release's
wheelhouse) and the device's Debian packages, each with its version. An SBOM-like inventory kept in
the bundle's manifest (`deployed`, per target).
"""

from __future__ import annotations

import re

from ivv.errors import IvvError

_WHEEL = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


def parse_packages(text: str) -> dict[str, str]:
    """name -> version from lines that are wheel file names, `name==version` or `name version`."""
    out = {}
    for line in text.splitlines():
        item = line.strip().rsplit("/", 1)[-1]
        if not item or item.startswith("#"):
            continue
        wheel = _WHEEL.match(item)
        if wheel:
            out[wheel["name"].replace("_", "-").lower()] = wheel["version"]
        elif "==" in item:
            name, _, version = item.partition("==")
            out[name.strip().lower()] = version.strip()
        elif len(item.split()) >= 2:
            name, version = item.split()[:2]
            out[name.lower()] = version
    return out


def deployed(stack, version: str | None, archive_sha256: str | None) -> dict:
    """The contents of the release deployed on `stack`'s target (what could be read; never guessed)."""
    out: dict = {"version": version, "archive_sha256": archive_sha256}
    command = (stack.profile.deployment or {}).get("packages_command")
    try:
        if command:
            listing = stack.run(command, 60)
            out["python_packages"] = parse_packages(listing.stdout) if listing.exit_status == 0 else {
                "error": f"`{command}` exited {listing.exit_status}"}
        dpkg = stack.run("dpkg-query -W -f '${Package} ${Version}\\n' 2>/dev/null", 120)
        if dpkg.exit_status == 0:
            out["debian_packages"] = parse_packages(dpkg.stdout)
    except IvvError as exc:
        out["error"] = str(exc)[:300]
    return out
