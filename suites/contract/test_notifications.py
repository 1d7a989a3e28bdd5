"""Notifications: start and stop a recording; `recording_status_update` arrives with the documented schema
within the published latency (threshold from the gate)."""

import pytest

from ivv.contract.checks import harvest, notification_latency, record_matrix, table, transcript, valid_params
from ivv.errors import ConfigError

CRITERION = "contract.notifications"


@pytest.mark.criterion(CRITERION)
def test_recording_notifications(contract_probe, evidence, contract_setting, ivv_gates):
    contract = contract_probe.contract
    trigger = contract_setting("notification_trigger", "start_recording")
    untrigger = contract_setting("notification_untrigger", "stop_recording")
    name = contract_setting("notification", "recording_status_update")
    since = contract_setting("notification_latency_from", "event")
    if since not in ("event", "reply"):
        raise ConfigError(f"gate settings contract.notification_latency_from: {since!r}; expected event or reply")
    if trigger not in contract.methods or name not in contract.notifications:
        pytest.skip(f"the contract has no {trigger} / {name} notification")
    harvest(contract_probe)
    params = valid_params(contract.method(trigger), contract_probe.observed)
    with contract_probe.role_session(contract.roles[-1]) as cli:  # a recording left over must not block this
        cli.call(untrigger, params)
    result = notification_latency(contract_probe, trigger=trigger, params=params, untrigger=untrigger,
                                  notification=name, wait=float(contract_setting("notification_wait_s", 5)))
    failed = record_matrix(evidence, CRITERION, f"{name} notifications", result.rows, table(result.rows),
                           "notification-exchanges.txt", transcript(result.rows))
    decide_latency(evidence, name, trigger, untrigger, result, evidence.threshold_for(CRITERION), since)
    assert not failed and len(result.latencies_ms) == len(result.rows), \
        "; ".join(f"{r.name}: {r.observed}" for r in failed)


def decide_latency(evidence, name, trigger, untrigger, result, limit, since: str = "event") -> None:
    """The event (the state change the call makes) happens between the request and the reply, so the
    client sees its latency only as a bracket: at least the time after the reply, at most the time
    after the request. PASS when the upper bound is within the threshold, FAIL when the lower bound is
    not, and NOT VERIFIED when the bracket straddles it (no guess either way). A gate whose requirement
    counts from the service's confirmation (`notification_latency_from: reply`) is decided on the
    time after the reply alone."""
    details = {"rows": [r.extra for r in result.rows], "bound": None}
    series = {"values": result.latencies_ms, "unit": "ms", "label": f"{trigger}/{untrigger}"}
    if not result.rows or len(result.latencies_ms) != len(result.rows):
        evidence.measure(CRITERION, f"worst {name} latency", None, unit="ms", details=details)
        return
    upper = max(r.extra["since_request_ms"] for r in result.rows)
    lower = max(result.latencies_ms)
    if since == "reply":
        evidence.measure(CRITERION, f"worst {name} latency from the triggering reply", lower, unit="ms",
                         details=details | {"bound": "from the reply (gate setting)"}, series=series)
        return
    if limit.check(upper, "ms"):
        evidence.measure(CRITERION, f"worst {name} latency, at most (from the triggering request)", upper,
                         unit="ms", details=details | {"bound": "upper"}, series=series)
    elif not limit.check(lower, "ms"):
        evidence.measure(CRITERION, f"worst {name} latency, at least (from the triggering reply)", lower,
                         unit="ms", details=details | {"bound": "lower"}, series=series)
    else:
        evidence.gap(CRITERION, f"worst {name} latency lies between {lower:.1f} ms (from the reply) and "
                     f"{upper:.1f} ms (from the request), which straddles {limit}: the client cannot tell "
                     "when the event happened inside the call", details=details)
