"""A small REST capture service for the OpenAPI self-tests, clean or misbehaving in exactly one way.

    python capture_stub.py SECRET [FAULT]

A request is authorised by a bearer JWT signed HS256 with SECRET (a `role` claim, not expired; `alg: none`
and other keys are refused) or by an API key in the place the spec names for the operation (status: query
`api_key`, capture: header `X-API-Key`, record: cookie `capture_key`); the keys are the JSON object in
CAPTURE_STUB_KEYS, role -> key, and its `revoked` key is refused. It prints `PORT n` (CAPTURE_STUB_PORT, default a free one) and serves tests/stubs/capture-stub.openapi.yaml on 127.0.0.1: health, status, a capture (a generated
still stored in a dated folder below a temporary directory, with its sha256) and a capture's record; over
HTTPS when CAPTURE_STUB_TLS_CERT and CAPTURE_STUB_TLS_KEY name a certificate chain and its key.
FAULT: `wrong_status` (a capture answers 200, not the documented 201), `schema_drift` (status counts
come back as strings), `auth_bypass` (status answers without a token), `server_error` (a capture body the
spec forbids reaches the handler unvalidated: 500), `lax_media` (a capture sent as text/plain is taken,
not refused with 415), `no_allow` (a wrong method answers 405 without an Allow header), `role_bypass` (a
viewer may create a capture), `stall` (1 s after its first request the whole service stops answering
for STALL_S, 1.5 s, then answers everything held: a pause only a load timed from its schedule sees),
`key_bypass` (any API key is taken as an admin's), `revoked_key` (the revoked key is still taken),
`serial` (one request at a time, each holding a lock for SERIAL_S, 40 ms: at most 25 answers a second),
`close_connections` (every answer says `Connection: close` and closes its keep-alive connection),
`idle_close` (a keep-alive connection idle for IDLE_S, 50 ms, is closed, as a short server timeout does),
`connection_auth` (a role a credential opened on a keep-alive connection stays for its later requests),
`last_token_wins` (a request without a credential takes the role of the last valid one, from any client).
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import sys
import tempfile
import threading
import time
import urllib.parse
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = sys.argv[1].encode()
FAULT = sys.argv[2] if len(sys.argv) > 2 else ""
STORE = tempfile.mkdtemp(prefix="capture-stub-")
CAPTURES = {}
STALL_S = 1.5
SERIAL_S = 0.04
IDLE_S = 0.05
SERIAL = threading.Lock()
STARTED = []                 # the time of the first request (for `stall`)
LAST_ROLE = []               # the role of the last valid credential (for `last_token_wins`)
_KEYS = json.loads(os.environ.get("CAPTURE_STUB_KEYS") or "{}")
REVOKED = _KEYS.pop("revoked", None)
KEYS = {key: role for role, key in _KEYS.items()}


def _unb64(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def token_role(token):
    """The role of an HS256 JWT signed with SECRET and not expired (None: no such token)."""
    try:
        header, payload, signature = token.split(".")
        if json.loads(_unb64(header)).get("alg") != "HS256":
            return False
        expected = hmac.new(SECRET, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        body = json.loads(_unb64(payload))
        good = hmac.compare_digest(expected, _unb64(signature)) and body.get("exp", 0) > time.time()
        return body.get("role") if good else None
    except (ValueError, AttributeError):
        return None


def hold():
    """`stall`: an answer due from 1 s after the first request until STALL_S later waits for the end."""
    now = time.monotonic()
    if not STARTED:
        STARTED.append(now)
    begin = STARTED[0] + 1.0
    if begin <= now < begin + STALL_S:
        time.sleep(begin + STALL_S - now)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # keep-alive answers go out at once, not after a delayed ACK
    wbufsize = -1                    # headers and body in one write (flushed after each request)
    timeout = IDLE_S if FAULT == "idle_close" else None

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        if FAULT == "stall":
            hold()
        if FAULT == "serial":
            with SERIAL:
                time.sleep(SERIAL_S)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if FAULT == "close_connections":
            self.send_header("Connection", "close")        # send_header also closes after this answer
        self.end_headers()
        self.wfile.write(data)

    @property
    def route(self):
        return urllib.parse.urlsplit(self.path).path

    def api_key(self):
        """The API key in the place the spec names for this operation ('' when none was sent)."""
        if self.command == "POST":
            return self.headers.get("X-API-Key", "")
        if self.route == "/status":
            return (urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("api_key") or [""])[0]
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        return cookie["capture_key"].value if "capture_key" in cookie else ""

    def key_role(self):
        key = self.api_key()
        if key and FAULT == "key_bypass":
            return "admin"
        if key and key == REVOKED:
            return "admin" if FAULT == "revoked_key" else None
        return KEYS.get(key) if key else None

    def authorised(self, roles=("viewer", "operator", "admin")):
        role = token_role(self.headers.get("Authorization", "").removeprefix("Bearer ")) or self.key_role()
        if role:
            LAST_ROLE[:] = [role]
            self.connection_role = role
        elif FAULT == "connection_auth":
            role = getattr(self, "connection_role", None)  # the handler lives as long as its connection
        elif FAULT == "last_token_wins" and LAST_ROLE:
            role = LAST_ROLE[-1]
        if role in roles or (role and FAULT == "role_bypass"):
            return True
        if role:
            self.answer(403, {"error": f"role {role} may not do this"})
        else:
            self.answer(401, {"error": "a valid bearer token or API key is required"})
        return False

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return ValueError

    def allowed(self):
        """The methods the route documents (None: no such route)."""
        if self.route in ("/health", "/status") or self.route.startswith("/captures/"):
            return ["GET"]
        return ["POST"] if self.route == "/captures" else None

    def wrong_method(self):
        self.read_json()
        allowed = self.allowed()
        if allowed is None:
            return self.answer(404, {"error": "no such route"})
        headers = {} if FAULT == "no_allow" else {"Allow": ", ".join(allowed)}
        return self.answer(405, {"error": f"{self.command} is not allowed here"}, headers)

    do_PUT = do_DELETE = do_PATCH = wrong_method

    def do_GET(self):
        if self.allowed() == ["POST"]:
            return self.wrong_method()
        if self.route == "/health":
            return self.answer(200, {"status": "ready"})
        if self.route == "/status":
            if FAULT != "auth_bypass" and not self.authorised():
                return None
            count = len(CAPTURES)
            return self.answer(200, {"version": "1.0.0", "captures": str(count) if FAULT == "schema_drift" else count,
                                     "queued": 0})
        if self.route.startswith("/captures/"):
            if not self.authorised():
                return None
            found = CAPTURES.get(self.route.rsplit("/", 1)[1])
            return self.answer(200, found) if found else self.answer(404, {"error": "no such capture"})
        return self.answer(404, {"error": "no such route"})

    def do_POST(self):
        if self.route != "/captures":
            return self.wrong_method()
        body = self.read_json()           # always, so a keep-alive connection stays in step
        if not self.authorised(("operator", "admin")):
            return None
        media = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media != "application/json":
            if FAULT != "lax_media":
                return self.answer(415, {"error": "send application/json"})
            body = {}                     # the knob: any media type is taken as an empty request
        valid = isinstance(body, dict) and not set(body) - {"label"} and isinstance(body.get("label", ""), str) \
            and len(body.get("label", "")) <= 40
        if not valid and FAULT == "server_error":      # no validation: the bad input reaches the code
            return self.answer(500, {"error": "Traceback (most recent call last): AttributeError: label.strip"})
        if not valid:
            return self.answer(400, {"error": "expected {\"label\": string of at most 40 characters}"})
        label = body.get("label", "")
        still = b"\xff\xd8\xff\xe0" + secrets.token_bytes(256) + b"\xff\xd9"
        capture_id = secrets.token_hex(6)
        folder = os.path.join(STORE, datetime.date.today().isoformat())
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{capture_id}.jpg")
        with open(path, "wb") as fh:
            fh.write(still)
        record = {"id": capture_id, "label": label, "path": os.path.relpath(path, STORE),
                  "sha256": hashlib.sha256(still).hexdigest(), "bytes": len(still)}
        CAPTURES[capture_id] = record
        status = 200 if FAULT == "wrong_status" else 201
        return self.answer(status, record, {"Location": f"/captures/{capture_id}"})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("CAPTURE_STUB_PORT", "0"))), Handler)
    if os.environ.get("CAPTURE_STUB_TLS_CERT"):      # HTTPS with this certificate chain and key
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.environ["CAPTURE_STUB_TLS_CERT"], os.environ["CAPTURE_STUB_TLS_KEY"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()
