"""Self-test fixtures shared by every engineer's tests.

`vdevice`: the ONE virtual device of the test session (session scope), booted on first use from a fresh
qcow2 overlay on the cached image, shared by every `@pytest.mark.vdevice` test, powered off at the end.
It is the same Target instance the `target` fixture gives for the virtual device, so a session never runs
two of them by accident. Tests that need a clean device use `fresh_vdevice` (or call `vdevice.restore()`):
power off, new overlay, boot (~20 s under TCG), so use it only where leftovers would change the result.
`capture_stub`: the REST capture stub (tests/stubs/capture_stub.py), clean or with one fault knob.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from ivv.rpc.auth import claims, sign

STUBS = Path(__file__).resolve().parent / "stubs"


@pytest.fixture(scope="session")
def vdevice(ivv_targets):
    """The session's booted virtual device (ivv.targets.qemu.QemuTarget). The reference stack's archives
    are rebuilt from its sources first (seconds), so no device test installs one built before an edit."""
    from ivv.config import profile as profile_mod
    from ivv.stack.release import fresh_archives

    fresh_archives(profile_mod.load())
    device = ivv_targets.virtual_device()
    device.ensure_ready()
    return device


@pytest.fixture
def fresh_vdevice(vdevice):
    """The session's virtual device, restored to a clean boot of the image first."""
    vdevice.restore()
    return vdevice


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A private OpenSSH server on 127.0.0.1 (tests/sshd_support.py) for the module's tests."""
    from tests.sshd_support import start_sshd

    server, proc = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def capture_stub():
    """`capture_stub(fault=None)` -> (base URL, valid headers, token) of a running stub, killed after;
    with `with_secret=True` also the secret its tokens are signed with and its API keys (role -> key, and
    the `revoked` one); with `tls=(certificate chain, key)` over HTTPS."""
    started = []

    def start(fault: str | None = None, with_secret: bool = False, tls: tuple | None = None):
        secret = secrets.token_urlsafe(32)
        keys = {role: secrets.token_urlsafe(24) for role in ("viewer", "operator", "admin", "revoked")}
        token = sign(claims("admin", "ivv-admin"), secret)
        served = {"CAPTURE_STUB_TLS_CERT": str(tls[0]), "CAPTURE_STUB_TLS_KEY": str(tls[1])} if tls else {}
        proc = subprocess.Popen([sys.executable, str(STUBS / "capture_stub.py"), secret, *([fault] if fault else [])],
                                stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "CAPTURE_STUB_KEYS": json.dumps(keys), **served})
        started.append(proc)
        line = proc.stdout.readline()
        assert line.startswith("PORT "), f"the capture stub did not start: {line!r}"
        scheme = "https" if tls else "http"
        found = f"{scheme}://127.0.0.1:{int(line.split()[1])}", {"Authorization": f"Bearer {token}"}, token
        return (*found, secret, keys) if with_secret else found

    yield start
    for proc in started:
        with contextlib.suppress(Exception):
            proc.kill()
            proc.wait(10)
