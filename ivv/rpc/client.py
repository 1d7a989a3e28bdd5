"""JSON-RPC 2.0 over WebSocket client that keeps every exchange, so a check can show what it sent.

Synchronous (``websockets.sync``) on purpose: contract checks and hypothesis run one request at a time
and want a per-call timeout, not an event loop. Replies are matched by id; frames without an id and with
a ``method`` are server notifications and go to a queue. Every send and every frame received is kept in
an :class:`Exchange` (timed, redacted when rendered) that a test can store as an artifact.
"""

from __future__ import annotations

import inspect
import itertools
import json
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from ivv.errors import IvvError
from ivv.rpc.auth import redact_text, register_secret

# Standard JSON-RPC 2.0 error codes (spec section 5.1).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
STANDARD_CODES = frozenset({PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR})

_NO_ID = object()
# websockets >= 16 wants `legacy=True` for a plain (non context manager) connection.
_LEGACY = {"legacy": True} if "legacy" in inspect.signature(connect).parameters else {}


class RpcError(IvvError):
    """A JSON-RPC call failed at the transport level (connect, timeout, connection lost)."""


class RpcConnectError(RpcError):
    """The WebSocket could not be opened (refused, TLS failure, bad handshake)."""


class RpcTimeout(RpcError):
    """No reply arrived within the per-call timeout."""


class RpcConnectionLost(RpcError):
    """The server closed or dropped the connection while a reply was awaited (`close_code`: the
    WebSocket close code it sent, None when it just dropped the connection)."""

    def __init__(self, message: str, close_code: int | None = None):
        super().__init__(message)
        self.close_code = close_code


def _close_code(exc: BaseException) -> int | None:
    return getattr(getattr(exc, "rcvd", None), "code", None)


class RpcErrorResponse(IvvError):
    """The server answered with a JSON-RPC error object (raised by :meth:`RpcClient.request`)."""

    def __init__(self, method: str, error: dict):
        self.method, self.error = method, error
        self.code = error.get("code") if isinstance(error, dict) else None
        super().__init__(f"{method}: error {self.code}: {error.get('message') if isinstance(error, dict) else error}")


@dataclass
class Exchange:
    """One request frame and what came back, with timing. ``sent`` is the exact frame text."""

    url: str
    sent: str
    received: list[str] = field(default_factory=list)
    started: float = 0.0  # wall clock (time.time) when the frame was sent
    elapsed: float | None = None  # seconds until the reply (None: no reply)
    outcome: str = "reply"  # reply | no-reply | timeout | connection-lost | not-sent
    note: str = ""

    def replies(self) -> list[Any]:
        """The received frames parsed as JSON (an unparsable frame is kept as its text)."""
        out = []
        for text in self.received:
            try:
                out.append(json.loads(text))
            except ValueError:
                out.append(text)
        return out

    def as_dict(self) -> dict:
        """Plain, redacted data for evidence details and artifacts."""
        return {
            "url": self.url,
            "sent": redact_text(self.sent),
            "received": [redact_text(t) for t in self.received],
            "started": self.started,
            "elapsed_ms": None if self.elapsed is None else round(self.elapsed * 1000, 3),
            "outcome": self.outcome,
            "note": self.note,
        }

    def text(self) -> str:
        """Human-readable transcript, secrets redacted."""
        lines = [f"# {self.url}  outcome={self.outcome}"
                 + ("" if self.elapsed is None else f"  elapsed={self.elapsed * 1000:.1f} ms")
                 + (f"  ({self.note})" if self.note else "")]
        lines.append(f">>> {redact_text(self.sent)}")
        lines += [f"<<< {redact_text(t)}" for t in self.received]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Reply:
    """One answer to one call: the parsed frame and its exchange, or how the connection ended instead
    (`lost`: the server closed or dropped it, `close_code` saying how; `timeout`: nothing came back).
    The one reply type of every check and probe."""

    method: str
    frame: Any = None
    exchange: Exchange | None = None
    lost: bool = False
    timeout: bool = False
    close_code: int | None = None

    @property
    def ok(self) -> bool:
        """A JSON-RPC success: a `result` and no `error`."""
        return isinstance(self.frame, dict) and "result" in self.frame and "error" not in self.frame

    @property
    def result(self) -> Any:
        return self.frame.get("result") if isinstance(self.frame, dict) else None

    @property
    def error(self) -> dict | None:
        err = self.frame.get("error") if isinstance(self.frame, dict) else None
        return err if isinstance(err, dict) else None

    @property
    def error_code(self) -> int | None:
        return self.error.get("code") if self.error else None

    def summary(self) -> str:
        if self.ok:
            return "result " + json.dumps(self.frame["result"])[:160]
        if self.error is not None:
            return f"error {self.error_code} {json.dumps(self.error.get('message'))[:160]}"
        if self.lost:
            return "connection closed by the server" + (f" (close code {self.close_code})" if self.close_code else "")
        if self.timeout:
            return "no answer (timeout)"
        return f"unexpected frame {str(self.frame)[:160]}"


def tls_context(verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
    """Client TLS context; ``verify=False`` accepts any certificate (self-signed test stacks)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class RpcClient:
    """One WebSocket connection speaking JSON-RPC 2.0.

    Args:
        url: ``ws://host:port/path`` or ``wss://...``.
        verify_tls: check the server certificate (wss only).
        ca_file: CA bundle to verify against (a test stack's own CA).
        server_name: the name the certificate must carry, when the URL's host is another (a forwarded port).
        timeout: default per-call timeout in seconds.
        connect_timeout: bound on opening the connection.
        on_exchange: called with every finished :class:`Exchange` (e.g. to store artifacts).
    """

    def __init__(self, url: str, *, verify_tls: bool = True, ca_file: str | None = None,
                 server_name: str | None = None, timeout: float = 5.0, connect_timeout: float = 5.0,
                 on_exchange: Callable[[Exchange], None] | None = None, max_size: int | None = 16 * 1024 * 1024):
        self.url = url
        self.verify_tls, self.ca_file, self.server_name = verify_tls, ca_file, server_name
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.on_exchange = on_exchange
        self.max_size = max_size
        self.exchanges: list[Exchange] = []
        self.notifications: deque[dict] = deque(maxlen=1000)
        self._ids = itertools.count(1)
        self._pending: dict[Any, str] = {}  # id key -> frame text received before it was asked for
        self._ws: ClientConnection | None = None
        self.tls_info: dict = {}

    # -- connection ---------------------------------------------------------------------------------
    def connect(self) -> RpcClient:
        ctx = tls_context(self.verify_tls, self.ca_file) if self.url.startswith("wss://") else None
        try:
            named = {"server_hostname": self.server_name} if ctx is not None and self.server_name else {}
            self._ws = connect(self.url, ssl=ctx, **named, open_timeout=self.connect_timeout, proxy=None,
                               compression=None, max_size=self.max_size, ping_interval=None,
                               close_timeout=1, user_agent_header="ivv", **_LEGACY)
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError, EOFError) as exc:
            raise RpcConnectError(f"cannot open {self.url}: {type(exc).__name__}: {exc}") from exc
        if ctx is not None:
            sock = self._ws.socket
            if isinstance(sock, ssl.SSLSocket):
                self.tls_info = {"version": sock.version(), "cipher": sock.cipher(),
                                 "peer_certificate": sock.getpeercert() or {}}
        return self

    def close(self) -> None:
        if self._ws is not None:
            try:
                self._ws.close()
            except Exception:  # noqa: BLE001 - closing a dead socket must not mask the real failure
                pass
            self._ws = None

    @property
    def connected(self) -> bool:
        return self._ws is not None

    def __enter__(self) -> RpcClient:
        return self.connect() if self._ws is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- low level ----------------------------------------------------------------------------------
    def _finish(self, exchange: Exchange) -> Exchange:
        self.exchanges.append(exchange)
        if self.on_exchange:
            self.on_exchange(exchange)
        return exchange

    def _recv(self, deadline: float) -> str | None:
        """One frame, or None at the deadline. Raises RpcConnectionLost."""
        if self._ws is None:
            raise RpcConnectionLost(f"{self.url}: not connected")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            data = self._ws.recv(timeout=remaining)
        except TimeoutError:
            return None
        except (ConnectionClosed, OSError, EOFError) as exc:
            self._ws = None
            raise RpcConnectionLost(f"{self.url}: connection lost: {exc}", _close_code(exc)) from exc
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else data

    def _classify(self, text: str) -> Any:
        """Queue notifications; return the parsed frame otherwise."""
        try:
            frame = json.loads(text)
        except ValueError:
            return text
        if isinstance(frame, dict) and "method" in frame and "id" not in frame:
            self.notifications.append({"frame": frame, "received": time.time(), "monotonic": time.monotonic()})
            return _NO_ID
        return frame

    def send_raw(self, frame: str | bytes, *, expect_reply: bool = True, timeout: float | None = None,
                 match_id: Any = _NO_ID, note: str = "") -> Exchange:
        """Send one frame as-is (may be malformed) and collect the reply.

        With ``expect_reply=False`` the client listens for the whole timeout and records anything that
        is not a notification (a server must not answer a JSON-RPC notification). ``match_id`` makes
        the client wait for the reply carrying that id, keeping other replies for later calls.
        """
        if self._ws is None:
            self.connect()
        timeout = self.timeout if timeout is None else timeout
        text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        ex = Exchange(url=self.url, sent=text, started=time.time(), note=note)
        t0 = time.monotonic()
        deadline = t0 + timeout
        if match_id is not _NO_ID and _id_key(match_id) in self._pending:
            ex.received.append(self._pending.pop(_id_key(match_id)))
            ex.elapsed = 0.0
            return self._finish(ex)
        try:
            self._ws.send(frame)
        except (ConnectionClosed, OSError, EOFError) as exc:
            self._ws = None
            ex.outcome = "connection-lost"
            self._finish(ex)
            raise RpcConnectionLost(f"{self.url}: connection lost while sending: {exc}", _close_code(exc)) from exc
        while True:
            try:
                got = self._recv(deadline)
            except RpcConnectionLost:
                ex.outcome = "connection-lost"
                ex.elapsed = time.monotonic() - t0
                self._finish(ex)
                raise
            if got is None:
                ex.outcome = "timeout" if expect_reply else ("no-reply" if not ex.received else "reply")
                if expect_reply:
                    ex.elapsed = None
                return self._finish(ex)
            parsed = self._classify(got)
            if parsed is _NO_ID:
                continue
            if match_id is not _NO_ID and isinstance(parsed, dict) and "id" in parsed \
                    and _id_key(parsed["id"]) != _id_key(match_id) and parsed.get("id") is not None:
                self._pending[_id_key(parsed["id"])] = got
                continue
            ex.received.append(got)
            ex.elapsed = time.monotonic() - t0
            if expect_reply:
                ex.outcome = "reply"
                return self._finish(ex)

    # -- JSON-RPC -----------------------------------------------------------------------------------
    def next_id(self) -> int:
        return next(self._ids)

    def call(self, method: str, params: Any = None, *, timeout: float | None = None, id: Any = _NO_ID,
             note: str = "") -> Reply:
        """Send a request and return the reply (which may carry an error object).

        Raises RpcTimeout when nothing came back in time, RpcConnectionLost when the server hung up.
        """
        req_id = self.next_id() if id is _NO_ID else id
        frame: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": req_id}
        if params is not None:
            frame["params"] = params
        ex = self.send_raw(json.dumps(frame), timeout=timeout, match_id=req_id, note=note or method)
        if ex.outcome == "timeout":
            raise RpcTimeout(f"{method}: no reply within {self.timeout if timeout is None else timeout:g} s "
                             f"from {self.url}")
        return Reply(method, ex.replies()[0], ex)

    def request(self, method: str, params: Any = None, *, timeout: float | None = None) -> Any:
        """Call and return the result; a JSON-RPC error raises RpcErrorResponse."""
        resp = self.call(method, params, timeout=timeout)
        if resp.error is not None or not isinstance(resp.frame, dict):
            raise RpcErrorResponse(method, resp.error or {"message": str(resp.frame)})
        return resp.result

    def notify(self, method: str, params: Any = None, *, listen: float = 0.0) -> Exchange:
        """Send a notification (no id); listen ``listen`` seconds for a (forbidden) reply."""
        frame: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            frame["params"] = params
        return self.send_raw(json.dumps(frame), expect_reply=False, timeout=listen, note=f"notify {method}")

    def batch(self, calls: Iterable[tuple[str, Any, bool]], *, timeout: float | None = None) -> Exchange:
        """Send ``[(method, params, is_notification), ...]`` as one batch frame; the reply is one frame."""
        items = []
        for method, params, is_note in calls:
            item: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
            if params is not None:
                item["params"] = params
            if not is_note:
                item["id"] = self.next_id()
            items.append(item)
        return self.send_raw(json.dumps(items), timeout=timeout, note="batch")

    def authenticate(self, token: str, *, method: str = "authenticate", param: str = "auth_token",
                     timeout: float | None = None) -> Reply:
        """Authenticate this connection's session; returns the reply (error or result)."""
        register_secret(token)
        return self.call(method, {param: token}, timeout=timeout, note="authenticate")

    def wait_notification(self, method: str, *, timeout: float,
                          predicate: Callable[[dict], bool] | None = None) -> dict | None:
        """The first queued or arriving notification named ``method`` (and matching ``predicate``).

        Returns ``{"frame", "received", "monotonic"}`` or None at the timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            for item in list(self.notifications):
                frame = item["frame"]
                if frame.get("method") == method and (predicate is None or predicate(frame)):
                    self.notifications.remove(item)
                    return item
            got = self._recv(deadline)
            if got is None:
                return None
            parsed = self._classify(got)
            if parsed is not _NO_ID and isinstance(parsed, dict) and "id" in parsed:
                self._pending[_id_key(parsed["id"])] = got

    def transcript(self) -> str:
        """Every exchange of this client as redacted text (an artifact)."""
        return "".join(ex.text() for ex in self.exchanges)


def _id_key(value: Any) -> str:
    """Ids compare by JSON text so 1 and "1" (and 1 and True) stay distinct."""
    return json.dumps(value, sort_keys=True)
