"""Read the camera's frames while a load runs, the way a client would, in a background thread.

Where the frame port is reachable from here (the local stack, an endpoint, a device whose media port
listens beyond its loopback) the watcher connects to it straight. A port bound to the device's own
loopback is out of reach of a forwarded port, so on a stack with a shell the watcher runs a small
standard-library relay on the device (`python3`, bounded by time and a stop file) that connects to
127.0.0.1 there and sends what it receives back as base64 lines stamped with the device's clock.
Either way the result is the same list of events, (kind, wall time, payload): "O" a connection opened,
"C" a chunk of the stream, "R" one whole snapshot answer, "E" an error; `frames.frames_from_events`
turns them into frames after the load, so decoding costs nothing while the load runs.
"""

from __future__ import annotations

import base64
import shlex
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

from ivv.errors import CapabilityMissing
from ivv.load.frames import FrameSpec
from ivv.stack.base import Capability
from ivv.targets.endpoint import is_loopback

MAX_BYTES = 256 * 1024 * 1024
CONNECT_TIMEOUT_S = 5.0


@dataclass
class FrameRoute:
    """Where the watcher reads: `host:port` from here, or `device_port` through `relay` (a stack)."""

    spec: FrameSpec
    host: str
    port: int
    device_port: int
    relay: object | None = None

    @property
    def label(self) -> str:
        where = f"relayed from 127.0.0.1:{self.device_port} on the device" if self.relay else \
            f"http://{self.host}:{self.port}{self.spec.path}"
        return f"{self.spec.label}, {where}"


def route_for(stack) -> tuple[FrameRoute | None, str | None]:
    """The frame route of a stack, or None and the reason there is none."""
    spec = FrameSpec.from_profile(stack.profile)
    if spec is None:
        return None, f"the profile {stack.profile.path} names no frame source (camera.stream)"
    device_port = stack.port(spec.section)
    bind = stack.binds().get(device_port)
    if bind is not None and is_loopback(bind) and stack.can(Capability.SHELL):
        return FrameRoute(spec, "127.0.0.1", device_port, device_port, relay=stack), None
    try:
        host, port = stack.address(spec.section)
    except CapabilityMissing as exc:
        return None, str(exc)
    return FrameRoute(spec, host, port, device_port), None


@dataclass
class WatchResult:
    events: list[tuple] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class FrameWatcher:
    """Reads `route` from `start()` until `stop()` or `max_duration_s`, whichever comes first."""

    def __init__(self, route: FrameRoute, max_duration_s: float):
        self.route = route
        self.max_duration_s = max_duration_s
        self.result = WatchResult()
        self.stop_file = f"/tmp/ivv-frames-{uuid.uuid4().hex[:12]}.stop"
        self._stop = threading.Event()
        self._bytes = 0
        self._thread = threading.Thread(target=self._run, name="ivv-frames", daemon=True)

    def start(self) -> FrameWatcher:
        self._thread.start()
        return self

    def stop(self) -> WatchResult:
        self._stop.set()
        if self.route.relay is not None and self._thread.is_alive():
            try:
                self.route.relay.run(f"touch {shlex.quote(self.stop_file)}", 30)
            except Exception as exc:  # an unreachable device: the relay ends by its own time limit
                self.result.errors.append(f"stop: {type(exc).__name__}: {exc}"[:200])
        self._thread.join(timeout=CONNECT_TIMEOUT_S + 35)
        return self.result

    # -- reading ---------------------------------------------------------------------------------
    def _emit(self, kind: str, t: float, payload) -> None:
        if isinstance(payload, bytes):
            self._bytes += len(payload)
            if self._bytes > MAX_BYTES:
                if not self._stop.is_set():
                    self.result.errors.append(f"stopped keeping frames after {MAX_BYTES // 2**20} MB")
                self._stop.set()
                return
        self.result.events.append((kind, t, payload))

    def _run(self) -> None:
        try:
            if self.route.relay is not None:
                self._relayed()
            elif self.route.spec.mode == "stream":
                self._stream()
            else:
                self._snapshots()
        except Exception as exc:  # recorded; the load goes on
            self.result.errors.append(f"watcher: {type(exc).__name__}: {exc}"[:200])

    def _request(self) -> socket.socket:
        sock = socket.create_connection((self.route.host, self.route.port), timeout=CONNECT_TIMEOUT_S)
        sock.sendall(f"GET {self.route.spec.path} HTTP/1.0\r\nHost: {self.route.host}\r\n\r\n".encode())
        sock.settimeout(1.0)
        return sock

    def _stream(self) -> None:
        deadline = time.monotonic() + self.max_duration_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                sock = self._request()
            except OSError as exc:
                self._emit("E", time.time(), f"connect: {exc}")
                self._stop.wait(0.5)
                continue
            self._emit("O", time.time(), None)
            with sock:
                while not self._stop.is_set() and time.monotonic() < deadline:
                    try:
                        data = sock.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError as exc:
                        self._emit("E", time.time(), f"recv: {exc}")
                        break
                    if not data:
                        self._emit("E", time.time(), "closed by the server")
                        break
                    self._emit("C", time.time(), data)

    def _snapshots(self) -> None:
        period = 1.0 / self.route.spec.fps
        deadline = time.monotonic() + self.max_duration_s
        due = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._stop.wait(max(0.0, due - time.monotonic()))
            due = max(due + period, time.monotonic())
            try:
                with self._request() as sock:
                    chunks = []
                    while time.monotonic() < deadline:
                        data = sock.recv(65536)
                        if not data:
                            break
                        chunks.append(data)
            except OSError as exc:
                self._emit("E", time.time(), f"snapshot: {exc}")
                continue
            self._emit("R", time.time(), b"".join(chunks))

    def _relayed(self) -> None:
        stack = self.route.relay
        before = time.time()
        up = float(stack.run("cut -d' ' -f1 /proc/uptime", 30).stdout.split()[0])
        offset = (before + time.time()) / 2 - up
        result = stack.run(relay_command(self.route, self.max_duration_s, self.stop_file),
                           self.max_duration_s + 30)
        if result.exit_status != 0:
            self.result.errors.append(f"relay exit {result.exit_status}: {result.stderr.strip()[-200:]}")
        for line in result.stdout.splitlines():
            kind, _, rest = line.partition(" ")
            stamp, _, payload = rest.partition(" ")
            if kind not in ("O", "C", "R", "E"):
                continue
            try:
                t = offset + float(stamp)
                self._emit(kind, t, base64.b64decode(payload) if kind in ("C", "R") else (payload or None))
            except ValueError:
                self.result.errors.append(f"relay: unreadable line {line[:60]!r}")


RELAY = r'''
import base64, os, socket, sys, time
port, path, mode, duration, stop, period = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], float(sys.argv[6])
now = lambda: time.clock_gettime(time.CLOCK_BOOTTIME)
end = now() + duration
def emit(kind, payload=""):
    sys.stdout.write("%s %.6f %s\n" % (kind, now(), payload)); sys.stdout.flush()
def running():
    return now() < end and not os.path.exists(stop)
due = now()
while running():
    if mode == "snapshot":
        time.sleep(max(0.0, due - now())); due = max(due + period, now())
    try:
        s = socket.create_connection(("127.0.0.1", port), 5)
        s.sendall(("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
        s.settimeout(1.0)
    except OSError as e:
        emit("E", "connect: %s" % e); time.sleep(0.5); continue
    if mode == "stream":
        emit("O")
    chunks = []
    while running():
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        except OSError as e:
            emit("E", "recv: %s" % e); break
        if not b:
            if mode == "stream":
                emit("E", "closed by the server")
            break
        if mode == "stream":
            emit("C", base64.b64encode(b).decode())
        else:
            chunks.append(b)
    if mode == "snapshot" and chunks:
        emit("R", base64.b64encode(b"".join(chunks)).decode())
    s.close()
try:
    os.unlink(stop)
except OSError:
    pass
'''


def relay_command(route: FrameRoute, duration_s: float, stop_file: str) -> str:
    """The relay as one shell command for the device (python3 reads the script from the command line)."""
    spec = route.spec
    args = [str(route.device_port), spec.path, spec.mode, f"{duration_s:g}", stop_file, f"{1.0 / spec.fps:g}"]
    return f"python3 -c {shlex.quote(RELAY)} {' '.join(shlex.quote(a) for a in args)}"
