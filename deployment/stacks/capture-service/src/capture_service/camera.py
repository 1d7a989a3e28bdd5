"""The camera: whether it is there, and one still captured from it with the configured command.

On a device the command is ffmpeg reading one frame from the V4L2 device (so a capture's latency is the
camera's); locally it is ffmpeg's test source. A capture is judged by its bytes: a JPEG (SOI .. EOI).
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import time


class CaptureFailed(Exception):
    """The camera gave no valid still; the message says why."""


def present(device: str | None) -> bool:
    """The configured camera exists as a character device (no device configured: a test source)."""
    if not device:
        return True
    try:
        return stat.S_ISCHR(os.stat(device).st_mode)
    except OSError:
        return False


def capture(command: str, device: str | None, output: str, timeout_s: float, extra_delay_s: float = 0) -> float:
    """Write one JPEG still to `output`; returns the seconds the capture took."""
    if not present(device):
        raise CaptureFailed(f"camera {device} is not present")
    started = time.monotonic()
    argv = [part.replace("{device}", device or "").replace("{output}", output) for part in shlex.split(command)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise CaptureFailed(f"the capture took more than {timeout_s:g} s") from None
    except OSError as exc:
        raise CaptureFailed(f"cannot run the capture command: {exc.strerror}") from None
    if proc.returncode != 0:
        raise CaptureFailed(f"the capture command failed ({proc.returncode}): {proc.stderr.strip()[-200:]}")
    with open(output, "rb") as fh:
        data = fh.read()
    if not (data.startswith(b"\xff\xd8") and data.rstrip(b"\0").endswith(b"\xff\xd9")):
        raise CaptureFailed("the camera gave no JPEG still")
    time.sleep(extra_delay_s)
    return time.monotonic() - started
