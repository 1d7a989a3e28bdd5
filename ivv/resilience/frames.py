"""A camera frame from the stack, judged; the time until the first valid one after a recovery; and whether
a recording is playable, and how much of it there is.

Where a frame comes from is the profile's `camera.frame`: an API call whose reply names a file fetched
from the API port with the caller's token (`method`, `params`, `role`, `download: /files/x/{filename}`),
or a URL on a device port (`url: http://{host}:{port}/snapshot`, `port`). A frame is valid when it
decodes (`format: jpeg`: Pillow decodes the whole image) or ffprobe reads a video frame from it
(`format: video`). Recordings are judged with ffprobe on this machine: playable means ffprobe reads its
packets, and its length is the span of their timestamps.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ivv import http
from ivv.errors import CapabilityMissing, PrerequisiteError
from ivv.poll import WaitResult, wait_until


@dataclass(frozen=True)
class Frame:
    """One attempt to get a frame: valid or not, and why."""

    valid: bool
    detail: str
    size: tuple[int, int] | None = None
    bytes: int = 0
    refused: bool = False          # the API answered with an error (an honest "no frame now")

    def summary(self) -> dict:
        return {"valid": self.valid, "detail": self.detail, "size": list(self.size) if self.size else None,
                "bytes": self.bytes, "refused": self.refused}


def judge_jpeg(data: bytes) -> Frame:
    """A frame only when the whole JPEG decodes (a truncated or fake one does not)."""
    from PIL import Image, UnidentifiedImageError

    if not data.startswith(b"\xff\xd8"):
        return Frame(False, f"not a JPEG ({len(data)} bytes, starts {data[:4].hex() or 'empty'})", bytes=len(data))
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return Frame(True, f"JPEG {image.width}x{image.height}", (image.width, image.height), len(data))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        return Frame(False, f"JPEG does not decode: {exc}", bytes=len(data))


def ffprobe() -> str:
    path = shutil.which("ffprobe")
    if path is None:
        raise PrerequisiteError("ffprobe is not installed on this machine (Debian package ffmpeg)")
    return path


def probe_media(data: bytes, suffix: str = ".bin") -> dict:
    """{playable, seconds, packets, error} of a media file's bytes, read by ffprobe."""
    with tempfile.NamedTemporaryFile(suffix=suffix) as fh:
        fh.write(data)
        fh.flush()
        proc = subprocess.run([ffprobe(), "-v", "error", "-select_streams", "v:0", "-show_entries",
                               "packet=pts_time", "-of", "json", fh.name], capture_output=True, text=True, timeout=120)
    try:
        packets = json.loads(proc.stdout or "{}").get("packets") or []
    except ValueError:
        packets = []
    times = [float(p["pts_time"]) for p in packets if p.get("pts_time") not in (None, "N/A")]
    playable = proc.returncode == 0 and bool(times)
    return {"playable": playable, "seconds": round(max(times) - min(times), 3) if times else 0.0,
            "packets": len(packets), "bytes": len(data), "error": proc.stderr.strip()[-300:] or None}


def judge_video(data: bytes) -> Frame:
    seen = probe_media(data)
    if seen["playable"]:
        return Frame(True, f"ffprobe reads {seen['packets']} video packet(s)", bytes=len(data))
    return Frame(False, f"ffprobe reads no video frame: {seen['error']}", bytes=len(data))


class FrameSource:
    """The profile's `camera.frame`, on a stack; `grab()` never raises for a missing or bad frame."""

    def __init__(self, stack, token_for):
        self.stack = stack
        self.spec = dict(stack.profile.camera.get("frame") or {})
        if not self.spec:
            raise CapabilityMissing(f"{stack.profile.path}: camera.frame does not say where a frame comes from")
        self.token_for = token_for          # role -> token (the subject's cached credentials)

    def _fetch(self) -> tuple[bytes | None, str, bool]:
        spec = self.spec
        if spec.get("url"):
            host, port = self.stack.target.address(int(spec["port"]))
            answer = http.get(spec["url"].format(host=host, port=port), timeout=15, json_body=False)
            if answer.status_code == 200:
                return answer.content, "", False
            return None, f"GET answered {answer.status_code or answer.error}", bool(answer.status_code)
        role = spec.get("role")
        try:
            with self.stack.client(role, timeout=15) as client:
                reply = client.call(spec["method"], dict(spec.get("params") or {}), timeout=15)
        except Exception as exc:  # noqa: BLE001 - no API (down, refusing) is an observation here
            return None, f"API not reachable: {type(exc).__name__}: {str(exc)[:200]}", False
        if not reply.ok:
            return None, f"{spec['method']} answered error {reply.error_code}: {(reply.error or {}).get('message')}", True
        if not spec.get("download"):
            return None, f"{spec['method']} gave no file to fetch (camera.frame.download is not set)", False
        try:
            route = spec["download"].format(**(reply.result or {}))
        except (KeyError, IndexError) as exc:
            return None, f"{spec['method']} reply lacks {exc} for camera.frame.download", False
        answer = http.get(self.stack.files_base + route, timeout=15, json_body=False,
                          headers={"Authorization": f"Bearer {self.token_for(role or 'viewer')}"})
        if answer.status_code != 200:
            return None, f"GET {route} answered {answer.status_code or answer.error}", False
        return answer.content, "", False

    def grab(self) -> Frame:
        data, problem, refused = self._fetch()
        if data is None:
            return Frame(False, problem, refused=refused)
        return judge_video(data) if self.spec.get("format") == "video" else judge_jpeg(data)

    def first_valid(self, timeout_s: float, interval_s: float = 1.0) -> WaitResult:
        """Poll until a valid frame (observations: frame summaries), at most `timeout_s`."""
        def check():
            frame = self.grab()
            return frame.valid, frame.summary()
        return wait_until(check, timeout_s, interval_s)


def fetch_recording(stack, spec: dict, filename: str, token: str) -> tuple[bytes | None, str]:
    """A recording's bytes through the stack's file route (None and why when it cannot be fetched)."""
    route = spec["download"].format(**{spec.get("file_field", "filename"): filename})
    answer = http.get(stack.files_base + route, timeout=120, json_body=False,
                      headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200:
        return None, f"GET {route} answered {answer.status_code or answer.error}"
    return answer.content, ""


def suffix_of(filename: str) -> str:
    return Path(filename).suffix or ".bin"


def seconds_since(start: float) -> float:
    return round(time.monotonic() - start, 3)
