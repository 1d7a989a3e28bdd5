"""The REST API (contract: deployment/contracts/capture-service.openapi.yaml), on the standard library's
threading HTTP server with keep-alive connections.

Every route documents its methods (others: 405 with Allow), bodies are JSON objects (else 400, or 415 for
another media type), and every answer is application/json. Roles: viewer reads, operator captures and
transfers.
"""

from __future__ import annotations

import json
import logging
import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from capture_service import auth, camera
from capture_service.store import Store
from capture_service.transfer import Transfers

LOG = logging.getLogger("capture_service")
ID = re.compile(r"^[a-f0-9]{12}$")
# route -> method -> handler; a route ending in "/" takes one id after it
ROUTES = {"/health": {"GET": "get_health"}, "/status": {"GET": "get_status"},
          "/captures": {"POST": "post_captures"}, "/captures/": {"GET": "get_capture"},
          "/transfers": {"POST": "post_transfers"}, "/transfers/": {"GET": "get_transfer"}}
MAX_BODY = 64 * 1024


class Reply(Exception):
    """An answer decided before the handler's end (an error, usually)."""

    def __init__(self, status: int, body: dict, headers: dict | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class Service:
    """What the handlers share: config, store, transfers, faults, the JWT secret."""

    def __init__(self, config: dict, version: str, secret: str, faults):
        self.config, self.version, self.secret, self.faults = config, version, secret, faults
        self.store = Store(config["storage"]["captures_dir"])
        self.transfers = Transfers(self.store, config["storage"]["transfer_dir"], faults)
        self.device = config["camera"].get("device")
        self.leeway_s = float(config.get("auth", {}).get("leeway_s", 0))


def route_of(path: str) -> str | None:
    if path in ROUTES:
        return path
    head, _, tail = path.rpartition("/")
    return f"{head}/" if f"{head}/" in ROUTES and tail else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    service: Service           # set on the subclass made by `serve`

    def log_message(self, fmt, *args):
        LOG.debug("%s %s", self.address_string(), fmt % args)

    # -- plumbing ------------------------------------------------------------------------------------
    def send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def read_raw(self) -> bytes:
        """The request's body, read before anything is decided, so a keep-alive connection stays in step
        whatever the answer (a refusal too); one over MAX_BODY closes the connection instead."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise Reply(400, {"error": "Content-Length is not a number"}) from None
        if length > MAX_BODY:
            self.close_connection = True
            raise Reply(413, {"error": f"a body may have at most {MAX_BODY} bytes"})
        return self.rfile.read(length) if length > 0 else b""

    def body(self) -> dict:
        """The request's JSON object."""
        media = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise Reply(415, {"error": "send application/json"})
        try:
            value = json.loads(self.raw or b"{}")
        except ValueError:
            raise Reply(400, {"error": "the body is not valid JSON"}) from None
        if not isinstance(value, dict):
            raise Reply(400, {"error": "the body must be a JSON object"})
        return value

    def need(self, least: str) -> str:
        try:
            role = auth.role_of(self.headers.get("Authorization", ""), self.service.secret, self.service.leeway_s)
        except auth.Unauthorized as exc:
            raise Reply(401, {"error": str(exc)}, {"WWW-Authenticate": "Bearer"}) from None
        if not auth.allows(role, least):
            raise Reply(403, {"error": f"role {role} may not do this ({least} or above may)"})
        return role

    def accepts_json(self) -> None:
        accept = self.headers.get("Accept", "*/*")
        kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
        if not kinds & {"application/json", "application/*", "*/*", ""}:
            raise Reply(406, {"error": "this API answers application/json only"})

    def dispatch(self) -> None:
        route = route_of(self.path.split("?")[0])
        try:
            self.raw = self.read_raw()
            if route is None:
                raise Reply(404, {"error": "no such route"})
            allowed = ROUTES[route]
            if self.command not in allowed:
                raise Reply(405, {"error": f"{self.command} is not allowed here"}, {"Allow": ", ".join(allowed)})
            self.accepts_json()
            status, body, headers = getattr(self, allowed[self.command])()
        except Reply as reply:
            status, body, headers = reply.status, reply.body, reply.headers
        except Exception:  # noqa: BLE001 - a bug answers 500 without its traceback; the log has it
            LOG.exception("%s %s failed", self.command, self.path)
            status, body, headers = 500, {"error": "internal error"}, {}
        self.send(status, body, headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = dispatch

    # -- routes --------------------------------------------------------------------------------------
    def get_health(self):
        there = camera.present(self.service.device) or self.service.faults.on("health_lies")
        body = {"status": "ready" if there else "not_ready", "camera": "present" if there else "missing"}
        return (200 if there else 503), body, {}

    def get_status(self):
        if not self.service.faults.on("auth_bypass"):
            self.need("viewer")
        s = self.service
        counts = {"captures": s.store.count(), "queued": s.transfers.queued(), "transferred": s.transfers.transferred()}
        if s.faults.on("schema_drift"):
            counts = {key: str(value) for key, value in counts.items()}
        return 200, {"version": s.version, **counts,
                     "camera": "present" if camera.present(s.device) else "missing"}, {}

    def post_captures(self):
        self.need("operator")
        body = self.body()
        label = body.get("label", "")
        if set(body) - {"label", "transfer"} or not isinstance(label, str) or len(label) > 40 \
                or not isinstance(body.get("transfer", False), bool):
            raise Reply(400, {"error": 'expected {"label": string of at most 40 characters, "transfer": boolean}'})
        s = self.service
        capture_id, tmp = s.store.new_path()
        cam = s.config["camera"]
        try:
            seconds = camera.capture(cam["capture"], s.device, str(tmp), float(cam.get("timeout_s", 20)),
                                     s.faults.number("slow_capture") / 1000)
        except camera.CaptureFailed as exc:
            tmp.unlink(missing_ok=True)
            LOG.warning("capture failed: %s", exc)
            raise Reply(503, {"error": f"capture failed: {exc}"}) from None
        record = s.store.commit(capture_id, tmp, label, seconds)
        LOG.info("captured %s in %.0f ms", record["path"], seconds * 1000)
        if body.get("transfer"):
            s.transfers.submit(record)
        status = 200 if s.faults.on("wrong_status") else 201
        return status, record, {"Location": f"/captures/{capture_id}"}

    def get_capture(self):
        if not self.service.faults.on("auth_bypass"):
            self.need("viewer")
        found = self.service.store.get(self.path.rsplit("/", 1)[1])
        if not found:
            raise Reply(404, {"error": "no such capture"})
        return 200, found, {}

    def post_transfers(self):
        self.need("operator")
        body = self.body()
        capture_id = body.get("capture_id")
        if set(body) != {"capture_id"} or not isinstance(capture_id, str) or not ID.match(capture_id):
            raise Reply(400, {"error": 'expected {"capture_id": a capture id (12 hex digits)}'})
        record = self.service.store.get(capture_id)
        if record is None:
            raise Reply(404, {"error": "no such capture"})
        job = self.service.transfers.submit(record)
        return 202, job, {"Location": f"/transfers/{job['id']}"}

    def get_transfer(self):
        self.need("viewer")
        job = self.service.transfers.get(self.path.rsplit("/", 1)[1])
        if not job:
            raise Reply(404, {"error": "no such transfer"})
        return 200, job, {}


def serve(service: Service, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"service": service})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    LOG.info("capture-service %s listening on %s:%d", service.version, host, server.server_address[1])
    return server


def wait_camera(device: str | None, seconds: float) -> bool:
    """At start: give the camera driver a moment (a board's camera may appear after the service)."""
    deadline = time.monotonic() + seconds
    while not camera.present(device) and time.monotonic() < deadline:
        time.sleep(0.2)
    return camera.present(device)
