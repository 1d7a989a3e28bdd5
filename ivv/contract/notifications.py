"""Notifications: a call that changes state (start a recording) must be followed by the documented
notification with a valid schema; `decide_latency` judges how soon, from the bracket the client sees."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ivv.contract.probe import Probe, harvest
from ivv.evidence.facts import Fact


@dataclass
class NotificationResult:
    rows: list[Fact]
    latencies_ms: list[float]


def notification_latency(probe: Probe, *, trigger: str, params: dict, untrigger: str | None,
                         notification: str, wait: float = 5.0, role: str | None = None) -> NotificationResult:
    """Call ``trigger`` (then ``untrigger``) and time each ``notification``.

    The event is the state change the call makes, which happens between the request and the reply, so
    each row holds a bracket: `latency_ms` from the reply (the lower bound, 0 when the notification came
    first; also in `latencies_ms`) and `since_request_ms` (the upper bound). The suite decides on them.
    """
    contract = probe.contract
    harvest(probe)
    role = role or contract.least_role(trigger) or contract.roles[-1]
    rows, lat = [], []
    with probe.role_session(role) as cli:
        for step in [trigger, *([untrigger] if untrigger else [])]:
            cli.notifications.clear()
            t_sent = time.monotonic()
            resp = probe.call(cli, step, params)
            t_reply = t_sent + (resp.exchange.elapsed or 0.0)
            if not resp.ok:
                rows.append(Fact(f"{step} -> {notification}", False, "call succeeds", f"error {resp.error}",
                                 exchanges=(resp.exchange.as_dict(),)))
                continue
            got = cli.wait_notification(notification, timeout=wait)
            if got is None:
                rows.append(Fact(f"{step} -> {notification}", False, f"notification within {wait:g} s",
                                 "none received", exchanges=(resp.exchange.as_dict(),)))
                continue
            latency = max(0.0, got["monotonic"] - t_reply) * 1000
            upper = (got["monotonic"] - t_sent) * 1000  # the event happened after the request was sent
            lat.append(latency)
            params_seen = got["frame"].get("params")
            if isinstance(params_seen, dict):
                probe.observed.notifications.setdefault(notification, set()).update(params_seen)
            errs = contract.validate_notification(notification, params_seen)
            shown = {"sent": "", "received": [json.dumps(got["frame"])], "outcome": "notification",
                     "elapsed_ms": round(latency, 3)}
            rows.append(Fact(f"{step} -> {notification}", not errs, "schema valid",
                             f"{latency:.1f}-{upper:.1f} ms (after reply-request); "
                             + ("valid" if not errs else "; ".join(map(str, errs[:3]))),
                             exchanges=(resp.exchange.as_dict(), shown),
                             details={"latency_ms": latency, "since_request_ms": round(upper, 3),
                                      "before_reply": got["monotonic"] < t_reply}))
    return NotificationResult(rows, lat)



def decide_latency(evidence, name, trigger, untrigger, result, limit, since: str = "event", *,
                   criterion: str = "contract.notifications") -> None:
    """The event (the state change the call makes) happens between the request and the reply, so the
    client sees its latency only as a bracket: at least the time after the reply, at most the time
    after the request. PASS when the upper bound is within the threshold, FAIL when the lower bound is
    not, and NOT VERIFIED when the bracket straddles it (no guess either way). A gate whose requirement
    counts from the service's confirmation (`notification_latency_from: reply`) is decided on the
    time after the reply alone."""
    details = {"rows": [dict(r.details) for r in result.rows], "bound": None}
    series = {"values": result.latencies_ms, "unit": "ms", "label": f"{trigger}/{untrigger}"}
    if not result.rows or len(result.latencies_ms) != len(result.rows):
        evidence.measure(criterion, f"worst {name} latency", None, unit="ms", details=details)
        return
    upper = max(r.details["since_request_ms"] for r in result.rows)
    lower = max(result.latencies_ms)
    if since == "reply":
        evidence.measure(criterion, f"worst {name} latency from the triggering reply", lower, unit="ms",
                         details=details | {"bound": "from the reply (gate setting)"}, series=series)
        return
    if limit.check(upper, "ms"):
        evidence.measure(criterion, f"worst {name} latency, at most (from the triggering request)", upper,
                         unit="ms", details=details | {"bound": "upper"}, series=series)
    elif not limit.check(lower, "ms"):
        evidence.measure(criterion, f"worst {name} latency, at least (from the triggering reply)", lower,
                         unit="ms", details=details | {"bound": "lower"}, series=series)
    else:
        evidence.gap(criterion, f"worst {name} latency lies between {lower:.1f} ms (from the reply) and "
                     f"{upper:.1f} ms (from the request), which straddles {limit}: the client cannot tell "
                     "when the event happened inside the call", details=details)
