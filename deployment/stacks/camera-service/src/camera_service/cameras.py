"""Camera monitor: what cameras exist and whether they are connected, polled and announced on change.

Source `v4l2`: each configured device node (e.g. /dev/video0) is CONNECTED while the node exists as a
character device and the media component reports its source online; the name comes from sysfs
(/sys/class/video4linux/videoN/name). Source `testpattern`: no V4L2 device exists; the camera is the
media component's generated test pattern, named as such, CONNECTED while that component answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from camera_service.media import MediaController, MediaUnavailable

log = logging.getLogger("camera_service.cameras")
SYSFS = Path("/sys/class/video4linux")


def v4l2_name(device: str) -> str | None:
    try:
        return (SYSFS / Path(device).name / "name").read_text().strip()
    except OSError:
        return None


def is_char_device(device: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(device).st_mode)
    except OSError:
        return False


class CameraMonitor:
    """Keeps the current camera objects; calls `on_change(camera)` when a camera's status changes."""

    def __init__(self, media: MediaController, source: str, devices: list[str], poll_s: float,
                 stream_url: str, on_change: Callable[[dict], Awaitable[None]] | None = None):
        if source not in ("v4l2", "testpattern"):
            raise ValueError(f"camera.source {source!r}: expected v4l2 or testpattern")
        self.media = media
        self.source = source
        self.devices = list(devices)
        self.poll_s = poll_s
        self.stream_url = stream_url
        self.on_change = on_change
        self.cameras: dict[str, dict] = {d: self._camera(d, "DISCONNECTED", None) for d in self.devices}
        self.connected_since: dict[str, float] = {}
        self.media_state: dict = {}
        self.last_poll: float | None = None
        self._task: asyncio.Task | None = None

    def _camera(self, device: str, status: str, state: dict | None) -> dict:
        source = (state or {}).get("source", {})
        res = source.get("resolution") or {}
        if self.source == "testpattern":
            name = "Test pattern (ffmpeg testsrc; no V4L2 device on this host)"
        else:
            name = v4l2_name(device) or Path(device).name
        connected = status == "CONNECTED"
        return {
            "device": device,
            "status": status,
            "name": name,
            "resolution": f"{res['width']}x{res['height']}" if res.get("width") else "",
            "fps": int(source.get("captured_fps") or 0) if connected else 0,
            "streams": {"rtsp": None, "webrtc": None, "hls": None,
                        "mjpeg": self.stream_url if connected else None},
            "source": self.source,
        }

    async def poll(self) -> None:
        try:
            state = await self.media.state()
        except MediaUnavailable:
            state = None
        self.media_state = state or {}
        online = bool(state and state.get("source", {}).get("online", True))
        for device in self.devices:
            present = is_char_device(device) if self.source == "v4l2" else True
            status = "CONNECTED" if (present and online) else "DISCONNECTED"
            camera = self._camera(device, status, state)
            previous = self.cameras.get(device)
            self.cameras[device] = camera
            if status == "CONNECTED":
                self.connected_since.setdefault(device, time.monotonic())
            else:
                self.connected_since.pop(device, None)
            if previous is None or previous["status"] != status:
                log.info("camera %s is %s", device, status)
                if self.on_change is not None:
                    await self.on_change(camera)
        self.last_poll = time.monotonic()

    async def run(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception:  # one failed poll must not end monitoring
                log.exception("camera poll failed")
            await asyncio.sleep(self.poll_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="camera-monitor")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def health(self) -> dict:
        connected = [d for d, c in self.cameras.items() if c["status"] == "CONNECTED"]
        stale = self.last_poll is None or time.monotonic() - self.last_poll > max(5.0, 5 * self.poll_s)
        healthy = self.running and not stale and bool(connected)
        return {"status": "healthy" if healthy else "unhealthy",
                "details": {"source": self.source, "devices": self.devices, "connected": connected,
                            "monitor_running": self.running, "poll_stale": stale}}

    def uptime(self, device: str) -> float:
        since = self.connected_since.get(device)
        return round(time.monotonic() - since, 3) if since is not None else 0.0
