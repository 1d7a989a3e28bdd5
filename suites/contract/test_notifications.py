"""Notifications: start and stop a recording; `recording_status_update` arrives with the documented schema
within the published latency (threshold from the gate)."""

import pytest

from ivv.contract.matrix import record_matrix, table, transcript
from ivv.contract.notifications import decide_latency, notification_latency
from ivv.contract.params import valid_params
from ivv.contract.probe import harvest
from ivv.errors import ConfigError

CRITERION = "contract.notifications"


@pytest.mark.criterion(CRITERION)
@pytest.mark.api_check("notifications")
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
    decide_latency(evidence, name, trigger, untrigger, result, evidence.threshold_for(CRITERION), since,
                   criterion=CRITERION)
    assert not failed and len(result.latencies_ms) == len(result.rows), \
        "; ".join(f"{r.name}: {r.observed}" for r in failed)
