"""Rate and request-size limits as the profile states them, and the service still up after the burst.

The burst is bounded (at most `MAX_BURST` requests and `BURST_SECONDS` on one loopback or forwarded
connection), so the probe can never become a load test or a denial of service on a shared device.
"""

from __future__ import annotations

import json
import os
import ssl
import time
from urllib.parse import urlsplit

import requests
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from ivv.evidence.facts import Fact, Undecided
from ivv.security import tokens
from ivv.security.exposure import is_loopback
from ivv.security.surface import REQUEST_LIMITS, Surface
from ivv.security.wire import Transcript

MAX_BURST = 3000
BURST_SECONDS = 10.0
RATE_LIMITED = -32002  # the documented "rate limit exceeded" code; a contract may name another
REMOTE_BURST_ENV = "IVV_ALLOW_REMOTE_BURST"  # "1": a device reached over the network may take the burst


def _still_up(surface: Surface, transcript: Transcript, health_url: str | None, settle: float) -> tuple[bool, str]:
    time.sleep(settle)
    method = surface.lowest_method() or "ping"
    token = surface.token(surface.roles[0])
    try:
        with surface.connect("after", transcript) as conn:
            conn.call(surface.auth_method, {surface.auth_param: token})
            reply = conn.call(method)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the observation
        return False, f"new connection failed: {exc}"
    parts = [f"{method} on a new connection: {reply.summary()}"]
    ok = reply.ok
    if health_url:
        try:
            answer = requests.get(health_url, timeout=surface.timeout)
            parts.append(f"GET {health_url}: {answer.status_code}")
            ok = ok and answer.status_code < 500
        except requests.RequestException as exc:
            parts.append(f"GET {health_url}: {type(exc).__name__}")
            ok = False
    transcript.note("; ".join(parts))
    return ok, "; ".join(parts)


def pipelined_burst(url: str, login: str, method: str, count: int, timeout: float,
                    verify_tls: bool = False) -> tuple[list[dict], float]:
    """Log in with `login` (a JSON-RPC frame), then send `count` calls back to back without waiting.

    Pipelining makes the arrival rate independent of the round-trip time, so a slow link (a forwarded
    port to a virtual device) still exceeds the limit. Replies are read until all came back or `timeout`.
    """
    ctx = None
    if url.startswith("wss://"):
        ctx = ssl.create_default_context()
        if not verify_tls:
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    replies: list[dict] = []
    with connect(url, ssl=ctx, open_timeout=timeout, close_timeout=1, max_size=None, compression=None) as ws:
        ws.send(login)
        ws.recv(timeout=timeout)
        started = time.monotonic()
        for i in range(count):
            ws.send(json.dumps({"jsonrpc": "2.0", "method": method, "id": f"b{i}"}))
        deadline = time.monotonic() + timeout + BURST_SECONDS
        while len(replies) < count and time.monotonic() < deadline:
            try:
                frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            except (TimeoutError, ConnectionClosed, ValueError):
                break
            if isinstance(frame, dict) and str(frame.get("id", "")).startswith("b"):
                replies.append(frame)
        return replies, time.monotonic() - started


def rate_limit_probe(surface: Surface, transcript: Transcript, per_second: float | None,
                     burst: float | None, health_url: str | None) -> Fact | Undecided:
    name = "rate limit enforced and service up after a burst"
    if not per_second:
        return Undecided(name, "the profile states no rate limit", criterion=REQUEST_LIMITS)
    host = urlsplit(surface.rpc_url).hostname or ""
    if not is_loopback(host) and os.environ.get(REMOTE_BURST_ENV) != "1":
        return Undecided(name, f"burst not sent to {host}: bursts go to loopback (or a forwarded port) only, "
                               f"unless {REMOTE_BURST_ENV}=1 says the device may take one", criterion=REQUEST_LIMITS)
    limited_code = surface.contract.code_for("rate", "limit") or RATE_LIMITED
    allowance = int((burst or per_second) + per_second)  # what may pass before the limit must bite
    count = min(MAX_BURST, max(50, 3 * allowance))
    method = surface.lowest_method() or "ping"
    token = surface.token(surface.roles[0])
    transcript.describe(token, tokens.describe(token, f"valid {surface.roles[0]} credential"))
    login = json.dumps({"jsonrpc": "2.0", "method": surface.auth_method, "id": "login",
                        "params": {surface.auth_param: token}})
    mark = transcript.mark()
    transcript.note(f"probe: {count} pipelined calls of {method} on one connection (limit {per_second}/s, "
                    f"burst {burst})")
    transcript.add("burst", ">", login)
    try:
        replies, elapsed = pipelined_burst(surface.rpc_url, login, method, count, surface.timeout,
                                           surface.verify_tls)
    except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed) as exc:
        replies, elapsed = [], 0.0
        transcript.add("burst", "!", f"burst connection failed: {exc}")
    answered = sum(1 for r in replies if "result" in r)
    limited = [i for i, r in enumerate(replies) if (r.get("error") or {}).get("code") == limited_code]
    for i, reply in enumerate(replies):
        if i < 3 or i in limited[:3] or i >= len(replies) - 2:
            transcript.add("burst", "<", json.dumps(reply))
    transcript.note(f"{len(replies)} of {count} replies in {elapsed:.2f} s: {answered} results, "
                    f"{len(limited)} x error {limited_code}")
    up, up_text = _still_up(surface, transcript, health_url, settle=min(3.0, (burst or 1) / per_second + 0.2))
    allowed_here = allowance + per_second * elapsed
    passed = bool(limited) and answered <= allowed_here and up
    return Fact(name, passed,
                expected=f"error {limited_code} once about {allowance} calls came at once, then the service "
                         "answers again",
                observed=(f"{answered} answered, {len(limited)} rate-limited "
                          f"(first at call {limited[0] + 1 if limited else None}) in {elapsed:.2f} s; "
                          f"after: {up_text}"),
                exchanges=(transcript.render(mark),),
                details={"sent": count, "replies": len(replies), "answered": answered,
                         "limited": len(limited), "elapsed_s": round(elapsed, 3), "up_after": up},
                criterion=REQUEST_LIMITS)


def size_limit_probe(surface: Surface, transcript: Transcript, max_bytes: int | None,
                     health_url: str | None) -> Fact | Undecided:
    name = "oversize request refused and service up after it"
    if not max_bytes:
        return Undecided(name, "the profile states no request size limit", criterion=REQUEST_LIMITS)
    method = surface.lowest_method() or "ping"
    mark = transcript.mark()
    pad = max_bytes + 1024
    frame = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1, "params": {"pad": "x" * pad}})
    transcript.note(f"probe: one {len(frame)}-byte request (limit {max_bytes} bytes)")
    token = surface.token(surface.roles[0])
    with surface.connect("big", transcript) as conn:
        conn.call(surface.auth_method, {surface.auth_param: token})
        reply = conn.send_raw(frame)
    refused = not reply.ok and (reply.error is not None or reply.lost)
    up, up_text = _still_up(surface, transcript, health_url, settle=0.2)
    return Fact(name, refused and up, expected="an error or the connection closed, then the service answers",
                observed=f"{reply.summary()}; after: {up_text}", exchanges=(transcript.render(mark),),
                details={"frame_bytes": len(frame), "limit": max_bytes}, criterion=REQUEST_LIMITS)
