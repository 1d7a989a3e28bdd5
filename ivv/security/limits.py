"""Rate and request-size limits as the profile states them, and the service still up after the burst.

Each limit is refused by meaning (`ivv.rpc.refusals`): the rate-limit code, the size refusal; any other
error is no evidence of a limit. Each has its positive control: the first calls of the burst answered,
the same call just under the size limit answered.

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

from ivv.evidence.facts import Fact, Undecided, controlled
from ivv.rpc.refusals import RATE, SIZE
from ivv.security import tokens
from ivv.security.exposure import is_loopback
from ivv.security.surface import REQUEST_LIMITS, Surface
from ivv.security.wire import Transcript

MAX_BURST = 3000
BURST_SECONDS = 10.0
FIRST_ANSWERED = 20  # the first calls of a burst, inside any allowance, must be answered
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
    """A bounded pipelined burst: the documented rate-limit refusal once the allowance is spent, the
    first calls of the burst answered (control: a service refusing everything shows no limit), and the
    service answering again after."""
    name = "rate limit enforced and service up after a burst"
    if not per_second:
        return Undecided(name, "the profile states no rate limit", criterion=REQUEST_LIMITS)
    host = urlsplit(surface.rpc_url).hostname or ""
    if not is_loopback(host) and os.environ.get(REMOTE_BURST_ENV) != "1":
        return Undecided(name, f"burst not sent to {host}: bursts go to loopback (or a forwarded port) only, "
                               f"unless {REMOTE_BURST_ENV}=1 says the device may take one", criterion=REQUEST_LIMITS)
    refusal = surface.refusal(RATE)
    method = surface.lowest_method()
    if not refusal.documented or method is None:
        return Undecided(name, "neither the contract nor the profile names the rate-limit refusal"
                         if method else "the contract has no protected read-only method", criterion=REQUEST_LIMITS)
    codes = "/".join(map(str, sorted(refusal.codes)))
    allowance = int((burst or per_second) + per_second)  # what may pass before the limit must bite
    count = min(MAX_BURST, max(50, 3 * allowance))
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
    limited = [i for i, r in enumerate(replies) if (r.get("error") or {}).get("code") in refusal.codes]
    for i, reply in enumerate(replies):
        if i < 3 or i in limited[:3] or i >= len(replies) - 2:
            transcript.add("burst", "<", json.dumps(reply))
    transcript.note(f"{len(replies)} of {count} replies in {elapsed:.2f} s: {answered} results, "
                    f"{len(limited)} x error {codes}")
    up, up_text = _still_up(surface, transcript, health_url, settle=min(3.0, (burst or 1) / per_second + 0.2))
    allowed_here = allowance + per_second * elapsed
    passed = bool(limited) and answered <= allowed_here and up
    probe = Fact(name, passed,
                 expected=f"{refusal.text} once about {allowance} calls came at once, then the service answers again",
                 observed=(f"{answered} answered, {len(limited)} rate-limited "
                           f"(first at call {limited[0] + 1 if limited else None}) in {elapsed:.2f} s; "
                           f"after: {up_text}"),
                 exchanges=(transcript.render(mark),),
                 details={"sent": count, "replies": len(replies), "answered": answered,
                          "limited": len(limited), "elapsed_s": round(elapsed, 3), "up_after": up},
                 criterion=REQUEST_LIMITS)
    first = replies[:min(allowance, FIRST_ANSWERED)]
    control = Fact("the first calls of the burst are answered (control)", bool(first) and all("result" in r for r in first),
                   expected=f"results for the first {min(allowance, FIRST_ANSWERED)} calls",
                   observed=f"{sum(1 for r in first if 'result' in r)} of {len(first)} answered", criterion=REQUEST_LIMITS)
    return controlled(probe, control) if passed else probe


def padded_call(method: str, size: int, request_id: int = 1) -> str:
    """A valid call of `method` (no params) padded with JSON whitespace to exactly `size` bytes: valid as
    it is at any size, so only its size can be refused."""
    head = f'{{"jsonrpc": "2.0", "method": {json.dumps(method)}, "id": {request_id}'
    return head + " " * max(0, size - len(head.encode()) - 1) + "}"


def size_limit_probe(surface: Surface, transcript: Transcript, max_bytes: int | None,
                     health_url: str | None) -> Fact | Undecided:
    """One valid call padded over the stated limit must get the documented size refusal (the error the
    contract or profile names for size, else the WebSocket's own 1009 close), and the same call padded to
    just under it must be answered first on the same connection (control), then the service answers."""
    name = "oversize request refused and service up after it"
    if not max_bytes:
        return Undecided(name, "the profile states no request size limit", criterion=REQUEST_LIMITS)
    method = surface.lowest_method()
    if method is None:
        return Undecided(name, "the contract has no protected read-only method", criterion=REQUEST_LIMITS)
    refusal = surface.refusal(SIZE)
    margin = min(1024, max(1, max_bytes // 10))
    under, over = padded_call(method, max_bytes - margin, 1), padded_call(method, max_bytes + margin, 2)
    mark = transcript.mark()
    transcript.note(f"probe: a {len(under.encode())}-byte then a {len(over.encode())}-byte valid {method} call "
                    f"(limit {max_bytes} bytes)")
    token = surface.token(surface.roles[0])
    with surface.connect("big", transcript) as conn:
        login = conn.call(surface.auth_method, {surface.auth_param: token})
        small = conn.send_raw(under)
        big = conn.send_raw(over)
    up, up_text = _still_up(surface, transcript, health_url, settle=0.2)
    refused, seen = refusal.judge(big)
    probe = Fact(name, refused and up, expected=f"{refusal.text}, then the service answers",
                 observed=f"{seen}; after: {up_text}", exchanges=(transcript.render(mark),),
                 details={"frame_bytes": len(over.encode()), "limit": max_bytes, "accepted": big.ok},
                 criterion=REQUEST_LIMITS)
    control = Fact("a request just under the limit is answered (control)", login.ok and small.ok,
                   expected=f"a result for the {len(under.encode())}-byte call",
                   observed=f"login: {login.summary()}; call: {small.summary()}", criterion=REQUEST_LIMITS)
    return probe if big.ok else controlled(probe, control)
