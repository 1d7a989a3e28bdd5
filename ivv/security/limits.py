"""Rate and request-size limits as the profile states them, and the service still up after the burst.

The burst is bounded (at most `MAX_BURST` requests and `BURST_SECONDS` on one loopback or forwarded
connection), so the probe can never become a load test or a denial of service on a shared device.
"""

from __future__ import annotations

import json
import time

import requests

from ivv.security import tokens
from ivv.security.findings import Finding, Undecided
from ivv.security.surface import REQUEST_LIMITS, Surface
from ivv.security.wire import Reply, Transcript

MAX_BURST = 400
BURST_SECONDS = 10.0
RATE_LIMITED = -32002  # the documented "rate limit exceeded" code; a contract may name another


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
    ok = reply.succeeded
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


def rate_limit_probe(surface: Surface, transcript: Transcript, per_second: float | None,
                     burst: float | None, health_url: str | None) -> Finding | Undecided:
    name = "rate limit enforced and service up after a burst"
    if not per_second:
        return Undecided(REQUEST_LIMITS, name, "the profile states no rate limit")
    limited_code = surface.contract.code_for("rate", "limit") or RATE_LIMITED
    allowance = int((burst or per_second) + per_second * 2)  # what may pass before the limit must bite
    count = min(MAX_BURST, max(20, 3 * allowance))
    method = surface.lowest_method() or "ping"
    token = surface.token(surface.roles[0])
    transcript.describe(token, tokens.describe(token, f"valid {surface.roles[0]} credential"))
    mark = transcript.mark()
    transcript.note(f"probe: {count} calls of {method} as fast as possible (limit {per_second}/s, "
                    f"burst {burst})")
    answered = limited = 0
    first_limited = None
    started = time.monotonic()
    with surface.connect("burst", transcript) as conn:
        conn.call(surface.auth_method, {surface.auth_param: token})
        for i in range(count):
            if time.monotonic() - started > BURST_SECONDS:
                break
            reply: Reply = conn.call(method)
            if reply.succeeded:
                answered += 1
            elif reply.error_code == limited_code:
                limited += 1
                first_limited = i + 1 if first_limited is None else first_limited
            elif reply.lost or reply.timeout:
                break
    elapsed = time.monotonic() - started
    up, up_text = _still_up(surface, transcript, health_url, settle=min(2.0, (burst or 1) / per_second + 0.2))
    lines = transcript.render(mark).splitlines()
    shown = "\n".join(lines[:12] + ([f"... {len(lines) - 24} lines ..."] if len(lines) > 24 else [])
                      + lines[max(12, len(lines) - 12):]) + "\n"
    allowed_here = allowance + per_second * elapsed
    passed = limited > 0 and answered <= allowed_here and up
    return Finding(REQUEST_LIMITS, name, passed,
                   expected=f"error {limited_code} after about {allowance} calls, then the service answers",
                   observed=(f"{answered} answered, {limited} rate-limited (first at call {first_limited}) "
                             f"in {elapsed:.2f} s; after: {up_text}"),
                   exchange=shown,
                   details={"sent": answered + limited, "answered": answered, "limited": limited,
                            "first_limited": first_limited, "elapsed_s": round(elapsed, 3), "up_after": up})


def size_limit_probe(surface: Surface, transcript: Transcript, max_bytes: int | None,
                     health_url: str | None) -> Finding | Undecided:
    name = "oversize request refused and service up after it"
    if not max_bytes:
        return Undecided(REQUEST_LIMITS, name, "the profile states no request size limit")
    method = surface.lowest_method() or "ping"
    mark = transcript.mark()
    pad = max_bytes + 1024
    frame = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1, "params": {"pad": "x" * pad}})
    transcript.note(f"probe: one {len(frame)}-byte request (limit {max_bytes} bytes)")
    token = surface.token(surface.roles[0])
    with surface.connect("big", transcript) as conn:
        conn.call(surface.auth_method, {surface.auth_param: token})
        reply = conn.send_raw(frame)
    refused = not reply.succeeded and (reply.error is not None or reply.lost)
    up, up_text = _still_up(surface, transcript, health_url, settle=0.2)
    return Finding(REQUEST_LIMITS, name, refused and up,
                   expected="an error or the connection closed, then the service answers",
                   observed=f"{reply.summary()}; after: {up_text}",
                   exchange=transcript.render(mark), details={"frame_bytes": len(frame), "limit": max_bytes})
