"""The media component (ustreamer on a device, the test-pattern server locally): probe, snapshot, record.

Both serve the same routes: GET /state (JSON), /snapshot (one JPEG), /stream (multipart MJPEG).
Recordings are ffmpeg processes copying the MJPEG stream into a Matroska or MP4 file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger("camera_service.media")


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class MediaUnavailable(Exception):
    """The media component did not answer, or answered with an error."""


async def http_get(url: str, timeout: float) -> tuple[int, bytes]:
    """One plain HTTP/1.0 GET on loopback: (status, body). Bounded by `timeout` seconds."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query

    async def fetch() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        try:
            writer.write(f"GET {path} HTTP/1.0\r\nHost: {parts.hostname}\r\n\r\n".encode())
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or not status_line[1].isdigit():
            raise MediaUnavailable(f"bad HTTP answer from {url}")
        return int(status_line[1]), body

    try:
        return await asyncio.wait_for(fetch(), timeout)
    except (TimeoutError, OSError) as exc:
        raise MediaUnavailable(f"{url}: {exc.__class__.__name__}") from exc


@dataclass
class Recording:
    device: str
    session_id: str
    filename: str
    path: Path
    format: str
    start: float
    duration: float | None
    process: asyncio.subprocess.Process
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    end: float | None = None


class MediaController:
    """Talks to the media component at `url`; runs one ffmpeg per active recording."""

    def __init__(self, url: str, timeout_s: float = 2.0, ffmpeg: str = "ffmpeg"):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.ffmpeg = ffmpeg
        self.recordings: dict[str, Recording] = {}

    async def state(self) -> dict:
        """The media component's /state result, or MediaUnavailable."""
        status, body = await http_get(self.url + "/state", self.timeout_s)
        if status != 200:
            raise MediaUnavailable(f"/state answered {status}")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise MediaUnavailable("/state is not JSON") from exc
        if not data.get("ok"):
            raise MediaUnavailable("/state says not ok")
        return data.get("result", {})

    async def health(self) -> dict:
        """{status: healthy|unhealthy, details} from a live probe."""
        started = time.monotonic()
        try:
            state = await self.state()
        except MediaUnavailable as exc:
            return {"status": "unhealthy", "details": {"url": self.url, "error": str(exc)}}
        source = state.get("source", {})
        online = bool(source.get("online", True))
        return {"status": "healthy" if online else "unhealthy",
                "details": {"url": self.url, "source_online": online,
                            "captured_fps": source.get("captured_fps"),
                            "probe_ms": round((time.monotonic() - started) * 1000, 2)}}

    async def snapshot(self) -> bytes:
        status, body = await http_get(self.url + "/snapshot", max(self.timeout_s, 5.0))
        if status != 200 or not body.startswith(b"\xff\xd8"):
            raise MediaUnavailable(f"/snapshot answered {status}")
        return body

    async def start_recording(self, device: str, session_id: str, path: Path, fmt: str,
                              duration: float | None) -> Recording:
        cmd = [self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-f", "mjpeg", "-use_wallclock_as_timestamps", "1", "-i", self.url + "/stream"]
        if duration:
            cmd += ["-t", str(duration)]
        cmd += ["-c", "copy", "-flush_packets", "1", "-f", "matroska" if fmt == "mkv" else "mp4", str(path)]
        proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        rec = Recording(device, session_id, path.name, path, fmt, time.time(), duration, proc)
        self.recordings[device] = rec
        return rec

    async def keep_synced(self, rec: Recording, interval_s: float) -> None:
        """fsync the recording every `interval_s` while it runs, so a power cut loses at most that much."""
        while not rec.stopped.is_set():
            try:
                await asyncio.wait_for(rec.stopped.wait(), interval_s)
            except TimeoutError:
                pass
            await asyncio.to_thread(_fsync, rec.path)

    async def wait(self, rec: Recording) -> int:
        """Wait for the recording's ffmpeg to end; returns its exit status and marks the end time."""
        _, err = await rec.process.communicate()
        if rec.process.returncode not in (0, 255):
            log.warning("ffmpeg for %s ended with %s: %s", rec.filename, rec.process.returncode,
                        err.decode(errors="replace")[-500:])
        rec.end = rec.end or time.time()
        self.recordings.pop(rec.device, None)
        rec.stopped.set()
        return rec.process.returncode

    async def stop_recording(self, rec: Recording, timeout: float = 10.0) -> None:
        """Ask ffmpeg to finish the file (SIGINT writes the trailer); kill it if it does not."""
        rec.end = time.time()
        if rec.process.returncode is None:
            rec.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(rec.stopped.wait(), timeout)
        except TimeoutError:
            rec.process.kill()
            await rec.stopped.wait()

    async def close(self) -> None:
        for rec in list(self.recordings.values()):
            await self.stop_recording(rec, timeout=5)
