"""Conformance and drift against the real local reference stack with a contract that disagrees with it:
a documented method the service lacks and a service method the contract lacks must both be listed."""

from __future__ import annotations

import copy
import json

import pytest

from ivv.contract.conformance import conformance
from ivv.contract.document import Contract
from ivv.contract.drift import drift
from ivv.contract.probe import Probe

pytestmark = pytest.mark.slow


def test_missing_and_extra_methods_are_listed(profile, local_stack):
    doc = json.loads(profile.contract_path.read_text())
    doc = copy.deepcopy(doc)
    doc["methods"] = [m for m in doc["methods"] if m["name"] != "get_streams"]  # the service still has it
    doc["methods"].append({"name": "get_firmware", "x-role": "viewer", "params": [],  # the service lacks it
                           "result": {"name": "firmware", "schema": {"type": "object"}}})
    contract = Contract(doc, "disagreeing contract")
    probe = Probe(local_stack.rpc_url, contract, local_stack.credentials())
    result = conformance(probe, generated=0, extra_names=("get_streams",))
    assert result.missing == ["get_firmware"]
    assert "get_streams" in result.extra
    rows = {r.name: r for r in drift(contract, probe.observed)}
    assert not rows["method get_firmware"].passed and "absent" in rows["method get_firmware"].observed
    assert not rows["method get_streams"].passed and rows["method get_streams"].expected == "not in the contract"
    conforming = {r.name: r.passed for r in result.rows}
    assert conforming["get_firmware"] is False and conforming["get_camera_list"] is True
