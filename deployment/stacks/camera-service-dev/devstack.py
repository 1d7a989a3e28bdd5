#!/usr/bin/env python3
"""Run the reference camera service from its source tree as plain processes (no install, no systemd).

This is the "service you already run" of the README: a developer's checkout started by hand, with its
own port layout (RPC 18002, health 18003, media 18080 unless told otherwise), loopback only. ivv did
not deploy it, so ivv validates it endpoint-only with `profile.yaml` beside this script.

    python3 devstack.py start --state /tmp/camdev [--rpc-port N --health-port N --media-port N]
                              [--fault KNOB=VALUE]...
    python3 devstack.py stop --state /tmp/camdev

`start` writes STATE/credentials.env (mode 0600: the JWT secret and API keys per role, plus one revoked
key) for the harness to read, and returns once both servers accept connections.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "camera-service"
READY_TIMEOUT = 20.0


def _wait_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"devstack: process exited with {proc.returncode}; see {log}:\n"
                             + log.read_text()[-2000:])
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"devstack: nothing listening on 127.0.0.1:{port} after {READY_TIMEOUT:.0f} s; see {log}")


def _keys(state: Path) -> dict:
    """One API key per role and one revoked key, with the service's own key store (only hashes on disk)."""
    sys.path.insert(0, str(SOURCE / "src"))
    from camera_service.auth import ApiKeyStore

    keys_file = state / "api-keys.json"
    keys_file.unlink(missing_ok=True)
    store = ApiKeyStore(keys_file)
    out = {role: store.add("viewer" if role == "revoked" else role, f"dev-{role}")[1]
           for role in ("viewer", "operator", "admin", "revoked")}
    store.revoke("dev-revoked")
    return out


def start(args) -> int:
    state = Path(args.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    env = dict(os.environ, PYTHONPATH=str(SOURCE / "src"))
    secret = secrets.token_urlsafe(36)
    keys = _keys(state)
    faults = dict(kv.split("=", 1) for kv in args.fault)
    overlay = {
        "server": {"host": args.host, "port": args.rpc_port},
        "health": {"host": args.host, "port": args.health_port},
        "media": {"url": f"http://127.0.0.1:{args.media_port}"},
        "camera": {"source": "testpattern"},
        "storage": {"recordings_dir": str(state / "recordings"), "snapshots_dir": str(state / "snapshots")},
        "auth": {"jwt_secret_env": "CAMERA_SERVICE_JWT_SECRET", "api_keys_file": str(state / "api-keys.json")},
        "logging": {"dir": None, "level": "INFO"},
        "faults": faults,
    }
    (state / "overlay.json").write_text(json.dumps(overlay, indent=2))  # JSON is YAML
    creds = state / "credentials.env"
    creds.touch(mode=0o600)
    creds.write_text(f"CAMERA_SERVICE_JWT_SECRET={secret}\n"
                     + "".join(f"IVV_API_KEY_{role.upper()}={key}\n" for role, key in keys.items()))
    media_log, service_log = state / "media.log", state / "service.log"
    media = subprocess.Popen([python, "-m", "camera_service.testpattern", "--port", str(args.media_port),
                              "--fps", "5"], env=env, stdout=subprocess.DEVNULL,
                             stderr=media_log.open("w"), start_new_session=True)
    service = subprocess.Popen([python, "-m", "camera_service", "--config-dir", str(SOURCE / "config"),
                                "--env", "local", "--overlay", str(state / "overlay.json")],
                               env=dict(env, CAMERA_SERVICE_JWT_SECRET=secret), stdout=subprocess.DEVNULL,
                               stderr=service_log.open("w"), start_new_session=True)
    (state / "pids").write_text(f"{service.pid}\n{media.pid}\n")
    try:
        _wait_port(args.rpc_port, service, service_log)
        _wait_port(args.health_port, service, service_log)
    except SystemExit:
        stop(args)
        raise
    print(json.dumps({"rpc": f"ws://127.0.0.1:{args.rpc_port}/ws", "health": f"http://127.0.0.1:{args.health_port}",
                      "credentials": str(creds), "pids": [service.pid, media.pid]}))
    return 0


def stop(args) -> int:
    pids_file = Path(args.state) / "pids"
    if not pids_file.exists():
        return 0
    pids = [int(p) for p in pids_file.read_text().split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    pids_file.unlink()
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--state", required=True, help="folder for config overlay, keys, data and logs")
    parser.add_argument("--host", default="127.0.0.1", help="bind address of both servers")
    parser.add_argument("--rpc-port", type=int, default=18002)
    parser.add_argument("--health-port", type=int, default=18003)
    parser.add_argument("--media-port", type=int, default=18080)
    parser.add_argument("--fault", action="append", default=[], metavar="KNOB=VALUE",
                        help="a fault knob of the reference service (see its README)")
    args = parser.parse_args(argv)
    return start(args) if args.action == "start" else stop(args)


if __name__ == "__main__":
    sys.exit(main())
