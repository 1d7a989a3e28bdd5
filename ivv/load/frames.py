"""Camera frames as a client receives them: where they come from, which ones count, and the fps figure.

The profile's `camera.stream` says where frames come from: an MJPEG stream path (`stream: /stream`) or a
snapshot path (`snapshot: /snapshot`) on the port of a named profile section (`port: media`), with the
expected `width` x `height` and the camera's nominal `fps`. A frame counts only when it decodes as a
JPEG (Pillow, every byte) of exactly that size and differs from the frame before it (a camera that
froze while its server keeps sending the last picture delivers nothing new). `count` turns the frames
of a load window into the figure: the lowest fps over any `window_s` of the window (a stall of a few
seconds cannot hide in a long average), with the mean, dropped frames against the nominal rate, the
longest gap and a per-second series. Pure: no network (see `camera_watch` for the reading).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections import Counter
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from ivv.errors import ProfileError


@dataclass(frozen=True)
class FrameSpec:
    """Where the camera's frames are read and what a good one looks like."""

    section: str           # the profile section whose port serves them (media, rpc, health)
    mode: str              # "stream" (multipart MJPEG) or "snapshot" (one JPEG per GET)
    path: str
    width: int
    height: int
    fps: float

    @classmethod
    def from_profile(cls, profile) -> FrameSpec | None:
        """The profile's `camera.stream`, or None when it names no frame source."""
        frame = (profile.camera or {}).get("stream")
        if not frame:
            return None
        where = f"{profile.path}: camera.stream"
        modes = [m for m in ("stream", "snapshot") if m in frame]
        if len(modes) != 1:
            raise ProfileError(f"{where}: give exactly one of stream or snapshot (got {modes})")
        section = frame.get("port")
        if not isinstance(profile.data.get(section), dict) or "port" not in profile.data[section]:
            raise ProfileError(f"{where}.port: {section!r} is not a profile section with a port")
        return cls(section, modes[0], frame[modes[0]], int(frame["width"]), int(frame["height"]),
                   float(frame["fps"]))

    @property
    def label(self) -> str:
        return f"{self.mode} {self.path} on the {self.section} port ({self.width}x{self.height}, {self.fps:g} fps)"


def check_jpeg(data: bytes, width: int, height: int) -> str | None:
    """None when `data` decodes completely as a JPEG of width x height, else why not."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                return f"not a JPEG ({image.format})"
            if image.size != (width, height):
                return f"size {image.size[0]}x{image.size[1]}, expected {width}x{height}"
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return f"does not decode: {exc}"[:120]
    return None


class MjpegParser:
    """Incremental reader of one HTTP answer carrying multipart/x-mixed-replace JPEG parts."""

    MAX_BUFFER = 8 * 1024 * 1024

    def __init__(self):
        self.buffer = b""
        self.status: int | None = None
        self.boundary: bytes | None = None
        self.error: str | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """The complete parts (JPEG bytes) that `data` finished."""
        self.buffer += data
        if self.status is None and not self._head():
            return []
        parts = []
        while self.boundary and not self.error:
            part = self._part()
            if part is None:
                break
            parts.append(part)
        if len(self.buffer) > self.MAX_BUFFER:
            self.error, self.buffer = "a part larger than 8 MB without its end", b""
        return parts

    def _head(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4:]
        lines = head.split("\r\n")
        fields = lines[0].split()
        self.status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        ctype = headers.get("content-type", "")
        if self.status != 200:
            self.error = f"HTTP {self.status}"
        elif "boundary=" not in ctype:
            self.error = f"not a multipart stream (Content-Type {ctype!r})"
        else:
            self.boundary = b"--" + ctype.split("boundary=", 1)[1].split(";")[0].strip().strip('"').lstrip("-").encode()
        return True

    def _part(self) -> bytes | None:
        start = self.buffer.find(self.boundary)
        if start < 0:
            return None
        head_end = self.buffer.find(b"\r\n\r\n", start)
        if head_end < 0:
            return None
        headers = self.buffer[start:head_end].decode("latin-1").lower()
        body = head_end + 4
        length = None
        for line in headers.split("\r\n"):
            if line.startswith("content-length:") and line[15:].strip().isdigit():
                length = int(line[15:].strip())
        if length is not None:
            if len(self.buffer) < body + length:
                return None
            part, self.buffer = self.buffer[body:body + length], self.buffer[body + length:]
            return part
        following = self.buffer.find(self.boundary, body)
        if following < 0:
            return None
        part, self.buffer = self.buffer[body:following].rstrip(b"\r\n"), self.buffer[following:]
        return part


@dataclass(frozen=True)
class Frame:
    """One picture received at `t` (wall clock): good, or the reason it does not count."""

    t: float
    size: int
    digest: str
    problem: str | None = None


def frame(t: float, data: bytes, spec: FrameSpec) -> Frame:
    return Frame(t, len(data), hashlib.sha256(data).hexdigest()[:16], check_jpeg(data, spec.width, spec.height))


def count(frames: list[Frame], start: float, end: float, spec: FrameSpec, window_s: float) -> dict:
    """The camera figure of [start, end): sustained fps (the lowest of any `window_s` window), mean fps,
    frames delivered / invalid / repeated, dropped against the nominal rate, the longest gap."""
    inside = sorted((f for f in frames if start <= f.t < end), key=lambda f: f.t)
    good, problems, repeated, last = [], Counter(), 0, None
    for f in inside:
        if f.problem:
            problems[f.problem.split(":")[0]] += 1
            continue
        if f.digest == last:
            repeated += 1
        else:
            good.append(f.t)
        last = f.digest
    span = max(0.0, end - start)
    windows = max(1, int(span // window_s)) if span >= window_s else 0
    per_window = [sum(1 for t in good if start + i * window_s <= t < start + (i + 1) * window_s) / window_s
                  for i in range(windows)]
    expected = int(math.floor(spec.fps * span))
    edges = [start, *good, end]
    by_second = Counter(int(t - start) for t in good)
    per_second = [by_second.get(i, 0) for i in range(int(math.ceil(span)))]
    return {
        "window_s": window_s, "span_s": round(span, 3), "windows": len(per_window),
        "sustained_fps": round(min(per_window), 3) if per_window else None,
        "mean_fps": round(len(good) / span, 3) if span else None,
        "received": len(inside), "delivered": len(good), "invalid": sum(problems.values()),
        "problems": dict(problems), "repeated": repeated, "expected": expected,
        "dropped": max(0, expected - len(good)),
        "longest_gap_s": round(max(b - a for a, b in zip(edges, edges[1:], strict=False)), 3) if span else None,
        "per_second": per_second,
    }


def http_answer(data: bytes) -> tuple[int, bytes]:
    """(status, body) of one whole HTTP answer (0 when it is not one)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    fields = head.split(b"\r\n", 1)[0].split()
    if not sep or len(fields) < 2 or not fields[1].isdigit():
        return 0, b""
    return int(fields[1]), body


def frames_from_events(events: list[tuple], spec: FrameSpec) -> tuple[list[Frame], dict]:
    """Frames from a watcher's events (see `camera_watch`), and how often the route answered or failed."""
    frames, errors, answered = [], Counter(), 0
    parser: MjpegParser | None = None
    for kind, t, payload in events:
        if kind == "O":
            parser = MjpegParser()
        elif kind == "C" and parser is not None:
            before = parser.status
            frames.extend(frame(t, part, spec) for part in parser.feed(payload))
            if parser.error:
                errors[parser.error] += 1
                parser = None
            elif before is None and parser.status == 200:
                answered += 1
        elif kind == "R":
            status, body = http_answer(payload)
            if status == 200:
                answered += 1
                frames.append(frame(t, body, spec))
            else:
                errors[f"HTTP {status}"] += 1
        elif kind == "E":
            errors[str(payload).split(":")[0]] += 1
    return frames, {"answered": answered, "errors": dict(errors)}


def write_csv(frames: list[Frame], path) -> None:
    """Every frame received: wall time, bytes, digest, and why it did not count (empty when it did)."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("wall", "bytes", "sha256_16", "problem"))
        for fr in frames:
            writer.writerow((f"{fr.t:.6f}", fr.size, fr.digest, fr.problem or ""))
