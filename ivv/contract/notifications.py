"""Notifications: a call that changes state (start a recording) must be followed by the documented
notification with a valid schema; `decide_latency` judges how soon.

Where the contract names the notification's event time (`x-event-time`) and a clock method (`x-clock`),
latency counts from the event itself: the service's clock offset is estimated over the same connection
(ivv.clock, NTP-style; uncertainty half the best round trip) and each arrival minus its event time is
judged with that uncertainty. An event time that falls outside the call that caused it (beyond the
uncertainty) is not trusted. Otherwise the client sees the event only as a bracket: after the request,
before the reply."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ivv import clock
from ivv.contract.probe import Probe, harvest
from ivv.evidence.facts import Fact

CLOCK_EXCHANGES = 8


@dataclass
class NotificationResult:
    rows: list[Fact]
    latencies_ms: list[float]
    offset: clock.ClockOffset | None = None    # the service's clock against ours, when the contract has one
    clock_problem: str | None = None           # why there is no offset although the contract names a clock


def service_clock(probe: Probe, cli) -> tuple[clock.ClockOffset | None, str | None]:
    """The service clock's offset measured over `cli` with the contract's `x-clock` method, or why not."""
    spec = probe.contract.clock
    if not spec:
        return None, None

    def read() -> float:
        reply = probe.call(cli, spec["method"], {})
        value = reply.result.get(spec["field"]) if reply.ok and isinstance(reply.result, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{spec['method']} answered {reply.frame!r}, no number in {spec['field']!r}")
        return float(value)

    try:
        return clock.measure(read, CLOCK_EXCHANGES), None
    except ValueError as exc:
        return None, f"the service's clock could not be read: {exc}"


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
    known = contract.notifications.get(notification)
    event_field = known.event_time if known else None
    with probe.role_session(role) as cli:
        offset, problem = service_clock(probe, cli) if event_field else (None, None)
        for step in [trigger, *([untrigger] if untrigger else [])]:
            cli.notifications.clear()
            t_sent, wall_sent = time.monotonic(), time.time()
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
            from_event = event_latency(got, params_seen, event_field, offset, wall_sent,
                                       wall_sent + (t_reply - t_sent))
            errs = contract.validate_notification(notification, params_seen)
            shown = {"sent": "", "received": [json.dumps(got["frame"])], "outcome": "notification",
                     "elapsed_ms": round(latency, 3)}
            rows.append(Fact(f"{step} -> {notification}", not errs, "schema valid",
                             f"{latency:.1f}-{upper:.1f} ms (after reply-request); "
                             + ("valid" if not errs else "; ".join(map(str, errs[:3]))),
                             exchanges=(resp.exchange.as_dict(), shown),
                             details={"latency_ms": latency, "since_request_ms": round(upper, 3),
                                      "before_reply": got["monotonic"] < t_reply, **from_event}))
    return NotificationResult(rows, lat, offset, problem)


def event_latency(got: dict, params, field: str | None, offset, wall_sent: float, wall_reply: float) -> dict:
    """`since_event_ms` (arrival minus the event time on our clock) and whether the event time lies inside
    the call that caused it, give or take the offset's uncertainty; {} without an event time."""
    if not field or offset is None or not isinstance(params, dict):
        return {}
    stamp = params.get(field)
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
        return {"event_time_missing": field}
    event = offset.to_local(float(stamp))
    slack = offset.uncertainty_s
    return {"since_event_ms": round((got["received"] - event) * 1000, 3),
            "event_in_call": wall_sent - slack <= event <= wall_reply + slack}



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
    if since == "event" and (result.offset is not None or result.clock_problem):
        decide_from_event(evidence, name, result, limit, details, series, criterion)
        return
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


def decide_from_event(evidence, name, result, limit, details, series, criterion) -> None:
    """Latency from the event time the service stamped, on our clock: the worst arrival minus event time,
    give or take the clock offset's uncertainty. PASS when even the upper bound is within the threshold,
    FAIL when even the lower bound is over it, NOT VERIFIED in between, without a clock, or when an event
    time lies outside the call that caused it (a stamp that cannot be true)."""
    if result.offset is None:
        evidence.gap(criterion, f"{name} latency from the event: {result.clock_problem}", details=details)
        return
    rows = [r.details for r in result.rows]
    missing = [r.name for r in result.rows if "since_event_ms" not in r.details]
    outside = [r.name for r in result.rows if r.details.get("event_in_call") is False]
    clock_seen = result.offset.as_dict()
    details = details | {"clock": clock_seen, "bound": None}
    if missing:
        evidence.gap(criterion, f"{name} latency from the event: no event time in {', '.join(missing)}",
                     details=details)
        return
    if outside:
        evidence.gap(criterion, f"{name} latency from the event: the event time of {', '.join(outside)} lies "
                     "outside the call that caused it (beyond the clock uncertainty), so the service's event "
                     "times cannot be trusted", details=details)
        return
    worst = max(r["since_event_ms"] for r in rows)
    spread = result.offset.uncertainty_s * 1000
    series = series | {"values": [r["since_event_ms"] for r in rows]}
    text = f"{worst:.1f} ± {spread:.1f} ms"
    if limit.check(worst + spread, "ms"):
        evidence.measure(criterion, f"worst {name} latency from the event ({text}), at most", round(worst + spread, 3),
                         unit="ms", details=details | {"bound": "event, upper"}, series=series)
    elif not limit.check(worst - spread, "ms"):
        evidence.measure(criterion, f"worst {name} latency from the event ({text}), at least", round(worst - spread, 3),
                         unit="ms", details=details | {"bound": "event, lower"}, series=series)
    else:
        evidence.gap(criterion, f"worst {name} latency from the event is {text}, which straddles {limit}: the "
                     f"service's clock is known to ±{spread:.1f} ms only", details=details)
