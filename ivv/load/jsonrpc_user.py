"""A Locust user speaking JSON-RPC 2.0 over one WebSocket connection.

Locust ships HTTP users only, and a plain `User` driving a WebSocket library shows no statistics
(locust#2617) because nothing fires the `request` event. Here every call fires it: request_type "WS",
name = the JSON-RPC method, response time in ms, exception on an error response, a timeout or a
dropped connection. Replies are matched to calls by JSON-RPC id by one receiver greenlet per
connection, so several calls can be in flight (the open model needs that). websocket-client is used
because gevent patches its plain sockets; the asyncio `websockets` client cannot run under gevent.

Two users share the connection code:
- `ClosedModelUser`: call, wait for the reply, think, call again (users x loop; a slow server slows the
  generator down with it).
- `OpenModelUser`: sends at fixed scheduled times whether or not earlier replies came back, and measures
  latency from the scheduled time, so a stalled server shows up in the latency (coordinated omission).
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import ssl
import time
import weakref

import gevent
import websocket
from gevent.event import AsyncResult
from locust import User, constant, task

from ivv.load.connections import connection_events
from ivv.load.pacing import MAX_IN_FLIGHT, Backlog, Paced
from ivv.load.spec import LoadSpec

REQUEST_TYPE = "WS"
RECONNECT_INTERVAL_S = 0.5


class RpcError(Exception):
    """The service answered with a JSON-RPC error object."""

    def __init__(self, method: str, error: dict):
        self.code = error.get("code")
        super().__init__(f"{method}: JSON-RPC error {self.code}: {error.get('message', '')}"[:200])


class RpcTimeout(Exception):
    """No reply within the spec's timeout."""


class ConnectionDropped(Exception):
    """The connection closed while the call was in flight."""


class NotConnected(Exception):
    """No connection when the call was due (the service refused or was down)."""


class Call:
    """One method with fixed params, its JSON text encoded once: only the id changes per call."""

    __slots__ = ("method", "head")

    def __init__(self, method: str, params: dict | None = None):
        self.method = method
        body = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            body["params"] = params
        self.head = json.dumps(body)[:-1] + ', "id": '

    def text(self, call_id: int) -> str:
        return f"{self.head}{call_id}}}"


class _Pending:
    __slots__ = ("method", "t0", "wall", "lag_ms", "result", "kind")

    def __init__(self, method, t0, wall, lag_ms, result: AsyncResult | None, kind: str):
        self.method, self.t0, self.wall, self.lag_ms, self.result, self.kind = method, t0, wall, lag_ms, result, kind


class JsonRpcConnection:
    """One WebSocket, a receiver greenlet resolving calls by id, and a reaper timing them out."""

    live: weakref.WeakSet = weakref.WeakSet()

    def __init__(self, environment, url: str, timeout_s: float, sslopt: dict | None = None):
        self.environment = environment
        self.url = url
        self.timeout_s = timeout_s
        self.sslopt = sslopt
        self.ids = itertools.count(1)
        self.pending: dict[int, _Pending] = {}
        self.ws: websocket.WebSocket | None = None
        self.closing = False
        self._greenlets: list[gevent.Greenlet] = []
        JsonRpcConnection.live.add(self)

    @classmethod
    def in_flight(cls) -> int:
        return sum(len(c.pending) for c in list(cls.live))

    @property
    def connected(self) -> bool:
        return self.ws is not None

    def open(self) -> bool:
        """Handshake; fires a `connect` request event. True when connected."""
        start = time.perf_counter()
        wall = time.time()
        # skip_utf8_validation: websocket-client checks UTF-8 byte by byte in Python (about 80 us per
        # 200-byte reply, more than the rest of a call); recv() still decodes the text with the C codec,
        # which refuses invalid UTF-8 just the same (the connection then counts as dropped).
        try:
            ws = websocket.create_connection(self.url, timeout=self.timeout_s, enable_multithread=True,
                                             sslopt=self.sslopt, skip_utf8_validation=True)
        except Exception as exc:  # refused, reset, handshake error, timeout: all mean "no connection"
            self._fire("connect", start, wall, 0, exc, kind="connect")
            connection_events(self.environment).fire(state="failed")
            return False
        ws.settimeout(None)
        self.ws, self.closing = ws, False
        self._fire("connect", start, wall, 0, None, kind="connect")
        self._greenlets = [gevent.spawn(self._receive, ws), gevent.spawn(self._reap)]
        return True

    def close(self) -> None:
        """Close on purpose (end of run): not counted as a drop; calls still in flight are discarded."""
        self.closing = True
        ws, self.ws = self.ws, None
        if ws is not None:
            try:
                ws.close(timeout=1)
            except Exception:  # closing an already broken socket
                pass
            connection_events(self.environment).fire(state="closed")
        for g in self._greenlets:
            g.kill(block=False)
        self._greenlets = []
        self.pending.clear()

    def send(self, call: Call, t0: float, wall: float, lag_ms: float = 0.0, wait: bool = False,
             kind: str = "call"):
        """Send one call timed from `t0` (perf_counter); with `wait`, block until its reply or failure."""
        method = call.method
        if self.ws is None:
            self._fire(method, t0, wall, 0, NotConnected(f"{method}: not connected"), sent=False, lag_ms=lag_ms,
                       kind=kind)
            return None
        if len(self.pending) >= MAX_IN_FLIGHT:
            self._fire(method, t0, wall, 0, Backlog(f"{method}: {MAX_IN_FLIGHT} calls in flight"), sent=False,
                       lag_ms=lag_ms)
            return None
        call_id = next(self.ids)
        pending = _Pending(method, t0, wall, lag_ms, AsyncResult() if wait else None, kind)
        self.pending[call_id] = pending
        try:
            self.ws.send(call.text(call_id))
        except Exception as exc:
            self.pending.pop(call_id, None)
            self._fire(method, t0, wall, 0, ConnectionDropped(f"{method}: send failed: {exc}"), lag_ms=lag_ms,
                       kind=kind)
            self._dropped()
            return None
        if wait:
            try:
                return pending.result.get(timeout=self.timeout_s * 2 + 1)
            except gevent.Timeout:
                return None
        return None

    def _receive(self, ws: websocket.WebSocket) -> None:
        while True:
            try:
                raw = ws.recv()
            except Exception:  # closed by the peer, reset, or our own close
                if not self.closing and self.ws is ws:
                    self._dropped()
                return
            now = time.perf_counter()
            try:
                reply = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(reply, dict) or "id" not in reply:
                continue  # a notification
            pending = self.pending.pop(reply.get("id"), None)
            if pending is None:
                continue  # late reply of a call already timed out
            error = reply.get("error")
            exc = RpcError(pending.method, error if isinstance(error, dict) else {}) if error is not None else None
            self._fire(pending.method, pending.t0, pending.wall, len(raw), exc, end=now, lag_ms=pending.lag_ms,
                       kind=pending.kind)
            if pending.result is not None:
                pending.result.set(reply)

    def _reap(self) -> None:
        step = min(0.1, self.timeout_s / 10)
        while True:
            gevent.sleep(step)
            deadline = time.perf_counter() - self.timeout_s
            expired = [i for i, p in list(self.pending.items()) if p.t0 <= deadline]
            for call_id in expired:
                pending = self.pending.pop(call_id, None)
                if pending is None:
                    continue
                self._fire(pending.method, pending.t0, pending.wall, 0,
                           RpcTimeout(f"{pending.method}: no reply within {self.timeout_s:g} s"), lag_ms=pending.lag_ms,
                           kind=pending.kind)
                if pending.result is not None:
                    pending.result.set(None)

    def _dropped(self) -> None:
        ws, self.ws = self.ws, None
        if ws is None:
            return
        connection_events(self.environment).fire(state="dropped")
        now = time.perf_counter()
        for call_id in list(self.pending):
            pending = self.pending.pop(call_id, None)
            if pending is None:
                continue
            self._fire(pending.method, pending.t0, pending.wall, 0,
                       ConnectionDropped(f"{pending.method}: connection dropped"), end=now, lag_ms=pending.lag_ms,
                       kind=pending.kind)
            if pending.result is not None:
                pending.result.set(None)
        try:
            ws.close(timeout=0)
        except Exception:
            pass
        current = gevent.getcurrent()
        for g in self._greenlets:
            if g is not current:
                g.kill(block=False)

    def _fire(self, name, t0, wall, length, exc, *, end=None, kind="call", sent=True, lag_ms=0.0) -> None:
        elapsed_ms = ((end if end is not None else time.perf_counter()) - t0) * 1000.0
        self.environment.events.request.fire(
            request_type=REQUEST_TYPE, name=name, response_time=elapsed_ms, response_length=length,
            exception=exc, context={"kind": kind, "wall": wall, "sent": sent, "lag_ms": lag_ms},
        )


class JsonRpcUser(User):
    """Base: one connection per user, authenticated, a weighted task mix, and an end time.

    A concrete class is made per run by `make_user_class(spec)`; `end_at` (wall clock) is set when the
    run starts, after which a user stops calling and waits for its calls in flight.
    """

    abstract = True
    spec: LoadSpec
    token: str | None = None
    end_at: float = float("inf")
    wait_time = constant(0)
    connects_first = True           # a user is ready once its connection opened (or failed to)

    def on_start(self) -> None:
        self.rpc = JsonRpcConnection(self.environment, self.spec.url, self.spec.timeout_s, sslopt(self.spec))
        self.calls = [Call(t.method, t.params) for t in self.spec.tasks]
        self.cum_weights = list(itertools.accumulate(t.weight for t in self.spec.tasks))
        self.budget = max(1, self.spec.max_requests // max(1, self.spec.users))
        self.last_connect = 0.0
        self.connect()

    def on_stop(self) -> None:
        self.rpc.close()

    def connect(self) -> bool:
        """Open (rate-limited) and authenticate; a refused or failed authentication closes again."""
        now = time.monotonic()
        if now - self.last_connect < RECONNECT_INTERVAL_S:
            return False
        self.last_connect = now
        if not self.rpc.open():
            return False
        if self.spec.authenticate:
            reply = self.rpc.send(Call("authenticate", {"auth_token": self.token or ""}), time.perf_counter(),
                                  time.time(), wait=True, kind="auth")
            ok = isinstance(reply, dict) and isinstance(reply.get("result"), dict) \
                and reply["result"].get("authenticated") is True
            if not ok:
                self.rpc.closing = True
                connection_events(self.environment).fire(state="failed")
                self.rpc.close()
                return False
        connection_events(self.environment).fire(state="opened")
        return True

    def pick(self) -> Call:
        """A call of the mix, drawn by weight."""
        return self.calls[bisect.bisect(self.cum_weights, random.random() * self.cum_weights[-1])]

    def idle(self) -> None:
        """After the end time: let calls in flight finish (bounded by the timeout), then wait to be stopped."""
        gevent.sleep(self.spec.timeout_s + 0.5)
        while True:
            gevent.sleep(1)


class ClosedModelUser(JsonRpcUser):
    abstract = True

    @task
    def run_calls(self) -> None:
        for _ in range(self.budget):
            if time.time() >= self.end_at:
                break
            if not self.rpc.connected and not self.connect():
                self.rpc.send(self.pick(), time.perf_counter(), time.time())
                gevent.sleep(RECONNECT_INTERVAL_S / 5)  # bounded retry pace while the service is down
                continue
            self.rpc.send(self.pick(), time.perf_counter(), time.time(), wait=True)
            if self.spec.think_time_s:
                gevent.sleep(self.spec.think_time_s)
        self.idle()


class OpenModelUser(Paced, JsonRpcUser):
    """The open model (`ivv.load.pacing`): each call sent at its due time on this user's connection."""

    abstract = True

    @task
    def run_calls(self) -> None:
        self.run_paced()
        self.idle()

    def send_due(self, due: float, wall: float, lag_ms: float) -> None:
        if not self.rpc.connected:
            self.connect()
        self.rpc.send(self.pick(), due, wall, lag_ms=lag_ms)


def sslopt(spec: LoadSpec) -> dict | None:
    if not spec.url.startswith("wss://"):
        return None
    if not spec.tls_verify:
        return {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
    return {"ca_certs": spec.ca_file} if spec.ca_file else {}


def make_user_class(spec: LoadSpec, token: str | None) -> type[JsonRpcUser]:
    """The concrete user for a run; the same name in every process so Locust workers find it."""
    base = OpenModelUser if spec.open_model else ClosedModelUser
    return type("JsonRpcLoadUser", (base,), {"abstract": False, "spec": spec, "token": token,
                                             "host": spec.url, "__module__": __name__})
