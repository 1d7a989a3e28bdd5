"""A private OpenSSH server on 127.0.0.1 for self-tests that need a host reached over real SSH (a load
generator): its own host key, one authorised key, no PAM, gone when the test module ends."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ivv.vdevice.machine import free_port

SSHD = "/usr/sbin/sshd"


@dataclass
class Sshd:
    port: int
    user: str
    key: Path
    known_hosts: Path
    log: Path


def start_sshd(folder: Path):
    """Start sshd on a free loopback port; returns (Sshd, Popen). sshd is openssh-server (make bootstrap)."""
    if not Path(SSHD).exists():
        raise RuntimeError(f"{SSHD} is missing: install openssh-server (`make bootstrap` does)")
    folder.mkdir(parents=True, exist_ok=True)
    host_key, key = folder / "host_ed25519", folder / "client_ed25519"
    for path in (host_key, key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    shutil.copy(f"{key}.pub", folder / "authorized_keys")
    port = free_port()
    config = folder / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"AuthorizedKeysFile {folder}/authorized_keys",
        f"PidFile {folder}/sshd.pid", "UsePAM no", "StrictModes no", "PermitRootLogin prohibit-password",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "MaxSessions 32", "MaxStartups 32",
        ""]))
    Path("/run/sshd").mkdir(exist_ok=True)      # sshd's privilege-separation directory
    log = folder / "sshd.log"
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while "Server listening" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"sshd did not start: {log.read_text()[-500:]}")
        time.sleep(0.05)
    return Sshd(port, "root", key, folder / "known_hosts", log), proc
