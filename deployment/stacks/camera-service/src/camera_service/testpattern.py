"""A test-pattern media component for hosts without a camera: ffmpeg's `testsrc` as MJPEG over HTTP.

`python -m camera_service.testpattern --port 8080` serves the routes ustreamer serves (GET /state,
/snapshot, /stream), so the service talks to it exactly as it talks to ustreamer on a device. It says
what it is in /state (`source.kind = "testpattern"`): nobody should mistake it for a camera.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time

from camera_service.config import _env_faults
from camera_service.faults import Faults

BOUNDARY = b"testpatternframe"


class Pattern:
    """Reads JPEG frames from one ffmpeg process and hands the latest to every client."""

    def __init__(self, width: int, height: int, fps: int, ffmpeg: str, stall_after_s: float = 0.0):
        self.width, self.height, self.fps, self.ffmpeg = width, height, fps, ffmpeg
        self.stall_after_s = stall_after_s  # fault knob camera_stall: no new frame after this (0 = never)
        self.first_frame_at: float | None = None
        self.frame: bytes | None = None
        self.frames = 0
        self.started = time.monotonic()
        self.new_frame = asyncio.Condition()
        self.clients = 0
        self.bytes_sent = 0
        self.process: asyncio.subprocess.Process | None = None

    async def run(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
            "-i", f"testsrc=size={self.width}x{self.height}:rate={self.fps}",
            "-c:v", "mjpeg", "-q:v", "5", "-f", "mjpeg", "pipe:1",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE)
        buffer = b""
        while True:
            chunk = await self.process.stdout.read(65536)
            if not chunk:
                raise RuntimeError(f"ffmpeg test source ended with status {await self.process.wait()}")
            buffer += chunk
            while True:
                end = buffer.find(b"\xff\xd9")
                if end < 0:
                    break
                start = buffer.find(b"\xff\xd8")
                frame, buffer = buffer[start:end + 2], buffer[end + 2:]
                if start >= 0 and frame and not self.stalled():
                    self.first_frame_at = self.first_frame_at or time.monotonic()
                    async with self.new_frame:
                        self.frame = frame
                        self.frames += 1
                        self.new_frame.notify_all()

    def stalled(self) -> bool:
        """Knob camera_stall: the camera froze `stall_after_s` after its first frame (it stays online)."""
        first = self.first_frame_at
        return bool(self.stall_after_s) and first is not None and time.monotonic() - first >= self.stall_after_s

    def state(self) -> dict:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return {"ok": True, "result": {
            "instance_id": "testpattern",
            "encoder": {"type": "ffmpeg-mjpeg", "quality": 5},
            "source": {"kind": "testpattern", "resolution": {"width": self.width, "height": self.height},
                       "online": self.frame is not None, "desired_fps": self.fps,
                       "captured_fps": min(self.fps, round(self.frames / elapsed))},
            "stream": {"clients": self.clients, "bytes_sent": self.bytes_sent}}}

    async def next_frame(self) -> bytes:
        async with self.new_frame:
            await asyncio.wait_for(self.new_frame.wait(), 5)
            return self.frame


async def _respond(writer, status: str, ctype: str, body: bytes) -> None:
    writer.write(f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                 "Connection: close\r\n\r\n".encode() + body)
    await writer.drain()


def handler(pattern: Pattern):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            parts = head.split(b" ", 2)
            path = parts[1].decode(errors="replace").split("?", 1)[0] if len(parts) > 1 else "/"
            if path == "/state":
                await _respond(writer, "200 OK", "application/json", json.dumps(pattern.state()).encode())
            elif path == "/snapshot":
                if pattern.frame is None:
                    await _respond(writer, "503 Service Unavailable", "text/plain", b"no frame yet\n")
                else:
                    await _respond(writer, "200 OK", "image/jpeg", pattern.frame)
            elif path == "/stream":
                await stream(pattern, writer)
            else:
                await _respond(writer, "404 Not Found", "text/plain", b"not found\n")
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
    return handle


async def stream(pattern: Pattern, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary="
                 + BOUNDARY + b"\r\nCache-Control: no-store\r\n\r\n")
    pattern.clients += 1
    try:
        while True:
            frame = await pattern.next_frame()
            part = (b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
                    + str(len(frame)).encode() + b"\r\n\r\n" + frame + b"\r\n")
            writer.write(part)
            await writer.drain()
            pattern.bytes_sent += len(part)
    finally:
        pattern.clients -= 1


async def main_async(args) -> int:
    stall = Faults.from_config(_env_faults(dict(os.environ))).camera_stall
    pattern = Pattern(args.width, args.height, args.fps, args.ffmpeg, stall_after_s=stall)
    source = asyncio.create_task(pattern.run())
    server = await asyncio.start_server(handler(pattern), args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    done = asyncio.create_task(stop.wait())
    await asyncio.wait({source, done}, return_when=asyncio.FIRST_COMPLETED)
    server.close()
    if pattern.process and pattern.process.returncode is None:
        pattern.process.terminate()
        await pattern.process.wait()
    if source.done() and source.exception():
        print(f"testpattern: {source.exception()}", file=sys.stderr)
        return 1
    source.cancel()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="camera_service.testpattern", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--ffmpeg", default="ffmpeg")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
