"""Host side of the virtual device: the cache folder and the Debian packages QEMU and the builder need."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ivv.errors import PrerequisiteError

# command on PATH -> Debian package that provides it
HOST_TOOLS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "debootstrap": "debootstrap",
    "mkfs.ext4": "e2fsprogs",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}


def cache_root() -> Path:
    """$IVV_CACHE, else ~/.cache/ivv (created)."""
    root = Path(os.environ.get("IVV_CACHE") or Path.home() / ".cache" / "ivv").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def _which(tool: str) -> str | None:
    # debootstrap and mkfs live in sbin, which a non-root PATH may lack
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return shutil.which(tool, path=path)


def missing_packages(tools: tuple[str, ...] | None = None) -> list[str]:
    """Debian packages whose commands are not installed."""
    wanted = tools or tuple(HOST_TOOLS)
    return sorted({HOST_TOOLS[t] for t in wanted if _which(t) is None})


def ensure_host_tools(tools: tuple[str, ...] | None = None) -> None:
    """Install missing host packages with apt as root; otherwise raise PrerequisiteError listing them."""
    missing = missing_packages(tools)
    if not missing:
        return
    if os.geteuid() != 0:
        raise PrerequisiteError(
            f"missing host packages: {' '.join(missing)} (run as root, or: sudo apt-get install {' '.join(missing)})"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                       check=True, env=env, timeout=1200)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
        raise PrerequisiteError(f"could not install host packages {' '.join(missing)}: {exc}") from exc
    still = missing_packages(tools)
    if still:
        raise PrerequisiteError(f"host packages still missing after apt-get install: {' '.join(still)}")


def tool(name: str) -> str:
    """Absolute path of a host tool (after ensure_host_tools)."""
    found = _which(name)
    if found is None:
        raise PrerequisiteError(f"host tool '{name}' not found (Debian package {HOST_TOOLS.get(name, name)})")
    return found
