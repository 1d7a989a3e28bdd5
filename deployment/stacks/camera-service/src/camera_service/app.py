"""The service process: the JSON-RPC WebSocket server (with file routes), the health server, the camera
monitor and the media controller, wired together with per-connection sessions and limits."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from camera_service import methods, rpc, version
from camera_service.auth import (
    CLOCK_SKEW_S,
    MIN_SECRET_BYTES,
    ApiKeyStore,
    Authenticator,
    AuthError,
    Identity,
    role_allows,
)
from camera_service.cameras import CameraMonitor
from camera_service.faults import Faults, burn_cpu
from camera_service.media import MediaController
from camera_service.metrics import Metrics, leak
from camera_service.storage import FileStore, StorageError

log = logging.getLogger("camera_service")
EXIT_CRASH = 70


class StartupError(Exception):
    """The service cannot start with this configuration; the message says why."""


class TokenBucket:
    """Per-connection rate limit: `rate` requests per second with bursts up to `burst`."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Session:
    bucket: TokenBucket
    session_id: str = field(default_factory=lambda: secrets.token_hex(12))
    identity: Identity | None = None


def json_response(status: int, body: dict) -> Response:
    data = json.dumps(body).encode()
    reasons = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
               500: "Internal Server Error", 503: "Service Unavailable"}
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                       ("Cache-Control", "no-store"), ("Connection", "close")])
    return Response(status, reasons.get(status, "Error"), headers, data)


def file_response(path: Path) -> Response:
    data = path.read_bytes()
    kind = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".mp4": "video/mp4",
            ".mkv": "video/x-matroska"}.get(path.suffix.lower(), "application/octet-stream")
    headers = Headers([("Content-Type", kind), ("Content-Length", str(len(data))), ("Connection", "close"),
                       ("Content-Disposition", f'attachment; filename="{path.name}"')])
    return Response(200, "OK", headers, data)


class Service:
    def __init__(self, config: dict, environ=None):
        environ = os.environ if environ is None else environ
        self.config = config
        self.faults = Faults.from_config(config.get("faults"))
        if self.faults.broken_release:
            raise StartupError("this release is marked broken (faults.broken_release); refusing to start")
        auth = config["auth"]
        secret = environ.get(auth["jwt_secret_env"], "")
        if len(secret.encode()) < MIN_SECRET_BYTES and not self.faults.weak_secret:
            raise StartupError(f"JWT secret in ${auth['jwt_secret_env']} is missing or shorter than "
                               f"{MIN_SECRET_BYTES} bytes (set it in the secrets file)")
        self.authenticator = Authenticator(secret, ApiKeyStore(auth.get("api_keys_file")), self.faults)
        storage = config["storage"]
        self.store = FileStore(storage["recordings_dir"], storage["snapshots_dir"],
                               storage.get("low_space_mb", 100), traversal=self.faults.file_traversal)
        media = config["media"]
        self.media = MediaController(media["url"], media.get("timeout_s", 2.0),
                                     config["recording"].get("ffmpeg", "ffmpeg"))
        cam = config["camera"]
        self.monitor = CameraMonitor(self.media, cam["source"], cam["devices"], cam.get("poll_interval_s", 0.5),
                                     media.get("public_stream_url") or media["url"].rstrip("/") + "/stream",
                                     on_change=self._camera_changed)
        self.metrics = Metrics()
        self.connections: dict[ServerConnection, Session] = {}
        self._late: set[asyncio.Task] = set()  # notifications held back by the notify_delay_ms knob
        self.leaked_identity: Identity | None = None
        self.serving = False
        self._tasks: set[asyncio.Task] = set()
        self._servers = []

    # -- requests --------------------------------------------------------------------------------
    def authenticate(self, token) -> Identity:
        try:
            return self.authenticator.authenticate(token)
        except AuthError as exc:
            raise rpc.RpcError(rpc.AUTH_FAILED, str(exc)) from exc

    def _check_crash(self) -> None:
        limit = self.faults.crash_after
        if limit and self.metrics.requests >= limit:
            log.error("fault crash_after=%s: %s requests served, exiting with status %s", limit,
                      self.metrics.requests, EXIT_CRASH)
            logging.shutdown()
            os._exit(EXIT_CRASH)

    def _check_crash_on(self, name: str, params) -> None:
        """crash_on="method.param": a string longer than 100 characters in that param kills the process
        (the kind of input-specific crash fuzzing exists to find)."""
        method, _, param = self.faults.crash_on.partition(".")
        value = params.get(param) if isinstance(params, dict) and name == method else None
        if isinstance(value, str) and len(value) > 100:
            log.error("fault crash_on=%s: %s chars, exiting with status %s", self.faults.crash_on, len(value),
                      EXIT_CRASH)
            logging.shutdown()
            os._exit(EXIT_CRASH)

    async def dispatch(self, session: Session, name: str, params: dict, is_notification: bool):
        self._check_crash()
        if self.faults.crash_on:
            self._check_crash_on(name, params)
        started = time.monotonic()
        failed = True
        try:
            result = await self._dispatch(session, name, params)
            failed = False
            return result
        finally:
            self.metrics.record((time.monotonic() - started) * 1000, failed)

    async def _dispatch(self, session: Session, name: str, params: dict):
        faults = self.faults
        if not faults.no_rate_limit and not session.bucket.take():
            raise rpc.RpcError(rpc.RATE_LIMITED)
        if faults.slow_ms:
            await asyncio.sleep(faults.slow_ms / 1000)
        if faults.cpu_ms:
            burn_cpu(faults.cpu_ms / 1000)
        method = methods.METHODS.get(name)
        if method is None:
            raise rpc.RpcError(rpc.INVALID_REQUEST if faults.wrong_error_codes else rpc.METHOD_NOT_FOUND)
        params = dict(params)
        token = params.pop("auth_token", None) if name != "authenticate" else None
        identity = self.authenticate(token) if token is not None else session.identity
        if identity is None and faults.session_leak:
            identity = self.leaked_identity
        expires = identity.expires_at if identity is not None else None
        if expires is not None and expires + CLOCK_SKEW_S < time.time():
            session.identity = None
            raise rpc.RpcError(rpc.AUTH_FAILED, "authentication failed: token expired")
        bypass = faults.auth_bypass and name == "get_metrics"
        if method.role is not None and not bypass:
            if identity is None:
                raise rpc.RpcError(rpc.AUTH_FAILED, "authentication required")
            if not role_allows(identity.role, method.role):
                code = rpc.AUTH_FAILED if faults.wrong_error_codes else rpc.PERMISSION_DENIED
                raise rpc.RpcError(code, data={"required_role": method.role, "role": identity.role})
        methods.validate(params, method.params)
        try:
            result = await method.handler(self, session, params)
        except rpc.RpcError:
            raise
        except Exception as exc:  # never leak a traceback to the client; keep it in the log
            log.exception("method %s failed", name)
            raise rpc.RpcError(rpc.INTERNAL_ERROR) from exc
        return self._drop_field(name, result)

    def _drop_field(self, name: str, result):
        target = self.faults.drop_field
        if target and "." in target:
            method, key = target.split(".", 1)
            if method == name and isinstance(result, dict):
                result = {k: v for k, v in result.items() if k != key}
        return result

    # -- notifications ---------------------------------------------------------------------------
    async def notify(self, method: str, params: dict, event_time: float | None = None) -> None:
        """Send a notification stamped with its event's time (default now: the event has just happened)."""
        stamped = {**params, "event_time": time.time() if event_time is None else event_time}
        params = self._drop_field(method, stamped)  # drop_field may name a notification too
        message = json.dumps({"jsonrpc": "2.0", "method": method, "params": params})
        if self.faults.notify_delay_ms:  # sent late, after the call that caused it has answered
            task = asyncio.get_running_loop().create_task(self._send_late(message, self.faults.notify_delay_ms))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
            return
        await self._send_to_sessions(message)

    async def _send_late(self, message: str, delay_ms: int) -> None:
        await asyncio.sleep(delay_ms / 1000)
        await self._send_to_sessions(message)

    async def _send_to_sessions(self, message: str) -> None:
        for conn, session in list(self.connections.items()):
            if session.identity is not None or (self.faults.session_leak and self.leaked_identity):
                try:
                    await conn.send(message)
                except ConnectionClosed:
                    pass

    async def _camera_changed(self, camera: dict) -> None:
        await self.notify("camera_status_update", {k: camera[k] for k in
                                                   ("device", "status", "name", "resolution", "fps", "streams")})

    def watch_recording(self, rec) -> None:
        interval = float(self.config["recording"].get("sync_interval_s", 0) or 0)
        if interval > 0 and not self.faults.fragile_recordings:
            self._spawn(self.media.keep_synced(rec, interval))

        async def watch():
            await self.media.wait(rec)
            await self.notify("recording_status_update", {
                "device": rec.device, "status": "STOPPED", "filename": rec.filename,
                "duration": round((rec.end or time.time()) - rec.start, 3)}, event_time=rec.end)
        self._spawn(watch())

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- WebSocket server ------------------------------------------------------------------------
    async def ws_handler(self, conn: ServerConnection) -> None:
        limits = self.config["server"]["rate_limit"]
        session = Session(TokenBucket(limits["per_second"], limits["burst"]))
        self.connections[conn] = session
        try:
            async for message in conn:
                answer = await rpc.handle_text(
                    message, lambda name, params, note: self.dispatch(session, name, params, note))
                if answer is not None:
                    await conn.send(answer)
        except ConnectionClosed:
            pass
        finally:
            self.connections.pop(conn, None)

    async def rpc_http(self, conn: ServerConnection, request: Request):
        """HTTP on the RPC port: the WebSocket path, and file downloads under /files/."""
        path = request.path.split("?", 1)[0]
        if path == self.config["server"]["path"]:
            if len(self.connections) >= self.config["server"]["max_connections"]:
                return json_response(503, {"error": "too many connections"})
            return None
        for kind in ("recordings", "snapshots"):
            prefix = f"/files/{kind}/"
            if path.startswith(prefix):
                return await self._download(request, kind, unquote(path[len(prefix):]))
        return json_response(404, {"error": "not found"})

    async def _download(self, request: Request, kind: str, name: str) -> Response:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else request.headers.get("X-API-Key")
        try:
            identity = self.authenticator.authenticate(token)
        except AuthError:
            return json_response(401, {"error": "authentication required"})
        if not role_allows(identity.role, "viewer"):
            return json_response(403, {"error": "insufficient permissions"})
        try:
            path = self.store.existing(kind, name)
        except StorageError as exc:
            return json_response(404 if exc.reason == "not_found" else 400, {"error": str(exc)})
        return await asyncio.to_thread(file_response, path)

    # -- health server ---------------------------------------------------------------------------
    async def health_http(self, conn: ServerConnection, request: Request) -> Response:
        path = request.path.split("?", 1)[0]
        handlers = {"/health/system": self.health_system, "/health/cameras": self.health_cameras,
                    "/health/mediamtx": self.health_media, "/health/ready": self.health_ready}
        handler = handlers.get(path)
        if handler is None:
            return json_response(404, {"error": "not found", "endpoints": sorted(handlers)})
        try:
            status, body = await handler()
        except Exception:
            log.exception("health endpoint %s failed", path)
            status, body = 500, {"status": "unhealthy", "timestamp": methods.now_iso()}
        return json_response(status, body)

    async def _components(self) -> dict:
        await self.monitor.poll()
        media = await self.media.health()
        manager = {"status": "healthy" if self.serving else "unhealthy",
                   "details": {"version": version(), "connections": len(self.connections),
                               "uptime": self.metrics.uptime()}}
        components = {"mediamtx": media, "camera_monitor": self.monitor.health(), "service_manager": manager,
                      "storage": await asyncio.to_thread(self.store.health)}
        if self.faults.health_lies:
            components = {name: {"status": "healthy", "details": {}} for name in components}
        return components

    async def health_system(self):
        components = await self._components()
        if components["service_manager"]["status"] != "healthy":
            status = "unhealthy"
        elif all(c["status"] == "healthy" for c in components.values()):
            status = "healthy"
        else:
            status = "degraded"
        return (500 if status == "unhealthy" else 200,
                {"status": status, "timestamp": methods.now_iso(), "components": components})

    async def health_cameras(self):
        camera = (await self._components())["camera_monitor"]
        return (200 if camera["status"] == "healthy" else 500,
                {"status": camera["status"], "timestamp": methods.now_iso(), "details": camera["details"]})

    async def health_media(self):
        media = (await self._components())["mediamtx"]
        return (200 if media["status"] == "healthy" else 500,
                {"status": media["status"], "timestamp": methods.now_iso(), "details": media["details"]})

    async def health_ready(self):
        components = await self._components()
        failing = {name: c["status"] for name, c in components.items() if c["status"] != "healthy"}
        if not failing:
            return 200, {"status": "ready", "timestamp": methods.now_iso()}
        return 503, {"status": "not_ready", "timestamp": methods.now_iso(), "details": {"failing": failing}}

    # -- lifecycle -------------------------------------------------------------------------------
    def _ssl(self) -> ssl.SSLContext | None:
        tls = self.config["server"].get("tls", {})
        if not tls.get("enabled") or self.faults.plain_ws:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(tls["cert"], tls["key"])
        except (OSError, ssl.SSLError) as exc:
            raise StartupError(f"server.tls: cannot load {tls.get('cert')} / {tls.get('key')}: {exc}") from exc
        return context

    def _host(self, section: dict) -> str:
        return "0.0.0.0" if self.faults.bind_all else section["host"]

    async def start(self) -> None:
        self.store.ensure_dirs()
        server_cfg, health_cfg = self.config["server"], self.config["health"]
        self.monitor.start()
        rpc_server = await serve(self.ws_handler, self._host(server_cfg), server_cfg["port"],
                                 process_request=self.rpc_http, ssl=self._ssl(),
                                 max_size=server_cfg["max_message_bytes"], ping_interval=20,
                                 server_header=f"camera-service/{version()}")
        health_server = await serve(self.ws_handler, self._host(health_cfg), health_cfg["port"],
                                    process_request=self.health_http,
                                    server_header=f"camera-service/{version()}")
        self._servers = [rpc_server, health_server]
        self.serving = True
        if self.faults.leak_mb_per_min:
            self._spawn(leak(self.faults.leak_mb_per_min))
        log.info("camera-service %s (%s) listening: rpc %s, health %s; faults %s", version(),
                 self.config.get("environment"), self.bound(rpc_server), self.bound(health_server),
                 self.faults.active() or "none")

    @staticmethod
    def bound(server) -> list[str]:
        return [f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in server.sockets]

    async def stop(self) -> None:
        self.serving = False
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        await self.media.close()
        await self.monitor.stop()
        for task in list(self._tasks):
            task.cancel()
