"""Step lines with elapsed seconds for the long steps (image build, boot), so a user sees it moving."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO


class Progress:
    """Prints `[  12.3s] message` lines; `quiet` keeps them out of the way in tests."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def step(self, message: str) -> None:
        if not self.quiet:
            print(f"[{self.elapsed():6.1f}s] {message}", file=self.stream, flush=True)

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
