"""A small synchronous QMP client: the few commands the harness needs (quit, system_reset, set_link,
human-monitor-command for hostfwd_add), each bounded by a timeout. Events are read and skipped."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

from ivv.errors import TargetError


class QMPError(TargetError):
    """QEMU answered a QMP command with an error, or the monitor did not answer in time."""


class QMPClient:
    """One QMP session on a unix socket; use as a context manager."""

    def __init__(self, path: Path | str, timeout: float = 10.0):
        self.path = str(path)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = b""

    def __enter__(self) -> QMPClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            raise QMPError(f"cannot connect to QMP socket {self.path}: {exc}") from exc
        self._sock = sock
        greeting = self._read_message()
        if "QMP" not in greeting:
            raise QMPError(f"unexpected QMP greeting on {self.path}: {greeting}")
        self.execute("qmp_capabilities")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Send one command and return its `return` value; raise QMPError on `error`."""
        if self._sock is None:
            raise QMPError("QMP client is not connected")
        message: dict[str, Any] = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        try:
            self._sock.sendall(json.dumps(message).encode() + b"\n")
        except OSError as exc:
            raise QMPError(f"QMP {command}: {exc}") from exc
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = self._read_message()
            if "event" in reply:
                continue
            if "error" in reply:
                error = reply["error"]
                raise QMPError(f"QMP {command}: {error.get('class')}: {error.get('desc')}")
            return reply.get("return")
        raise QMPError(f"QMP {command}: no answer within {self.timeout} s")

    def hmp(self, command_line: str) -> str:
        """A human monitor command (e.g. hostfwd_add); its text output, which is empty on success."""
        return self.execute("human-monitor-command", {"command-line": command_line}) or ""

    def _read_message(self) -> dict[str, Any]:
        assert self._sock is not None
        while b"\n" not in self._buffer:
            try:
                chunk = self._sock.recv(65536)
            except OSError as exc:
                raise QMPError(f"QMP socket {self.path}: {exc}") from exc
            if not chunk:
                raise QMPError(f"QMP socket {self.path} closed by QEMU")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)
