"""Step lines with elapsed seconds for the long steps (image build, boot), so a user sees it moving.

Outside pytest a line goes to stderr. Inside a pytest run the steps happen in fixtures, whose output
pytest captures and shows only for a failing test, so a CI log would show nothing for minutes: this
module is also a pytest plugin (entry point `ivv-progress`) that keeps the session's terminal reporter
and writes each line through it with capture suspended, the way pytest's own live logging does. Every
line starts with `ivv progress`, so it can be found in a log.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

PREFIX = "ivv progress"
_session: dict = {}   # the running pytest session's config, while there is one


def pytest_configure(config) -> None:
    """Keep the config: its terminal reporter and capture manager carry the lines past capture."""
    _session["config"] = config


def pytest_unconfigure(config) -> None:
    if _session.get("config") is config:
        _session.clear()


def _through_pytest(line: str) -> bool:
    """Write `line` through the running pytest session's terminal reporter; False when there is none."""
    config = _session.get("config")
    plugins = config.pluginmanager if config is not None else None
    reporter = plugins.get_plugin("terminalreporter") if plugins is not None else None
    if reporter is None:
        return False
    capture = plugins.get_plugin("capturemanager")
    suspended = capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()
    with suspended:
        reporter.ensure_newline()
        reporter.write_line(line)
        reporter.flush()
    return True


def announce(line: str) -> None:
    """A line the user must see while it matters (a lease wait, a device left out): through the running
    pytest session past its capture, else to stderr. Printing to `sys.__stderr__` inside a fixture is not
    enough: pytest's fd-level capture has taken file descriptor 2 as well."""
    if not _through_pytest(line):
        print(line, file=sys.stderr, flush=True)


class Progress:
    """Prints `ivv progress [  12.3s] message` lines; `quiet` keeps them out of the way in tests. Without
    an explicit `stream` a line goes through the running pytest session (past its capture) or to stderr."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream
        self.quiet = quiet
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def step(self, message: str) -> None:
        if self.quiet:
            return
        line = f"{PREFIX} [{self.elapsed():6.1f}s] {message}"
        if self.stream is None:
            announce(line)
        else:
            print(line, file=self.stream, flush=True)

    def run(self, label: str, argv: Sequence[str], log: Path, timeout: float, heartbeat: float = 15.0,
            **kwargs) -> None:
        """Run a command, its output appended to `log`, printing its latest line every `heartbeat` s.

        Raises CalledProcessError / TimeoutExpired like subprocess.run(check=True).
        """
        self.step(f"{label}: started")
        last = {"line": ""}
        with open(log, "ab") as sink:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)

            def pump() -> None:
                assert proc.stdout is not None
                for raw in proc.stdout:
                    sink.write(raw)
                    text = raw.decode(errors="replace").strip()
                    if text:
                        last["line"] = text

            reader = threading.Thread(target=pump, daemon=True)
            reader.start()
            deadline = time.monotonic() + timeout
            while True:
                try:
                    proc.wait(timeout=heartbeat)
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() > deadline:
                        proc.kill()
                        proc.wait()
                        raise subprocess.TimeoutExpired(argv, timeout) from None
                    self.step(f"{label}: {last['line'][:100]}")
            reader.join(timeout=5)
        if proc.returncode != 0:
            self.step(f"{label}: failed (exit {proc.returncode}); last output: {last['line'][:200]}")
            raise subprocess.CalledProcessError(proc.returncode, argv)
        self.step(f"{label}: done")
