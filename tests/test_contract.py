"""OpenRPC loading, document checks, params/result validation and roles (pure logic on small documents)."""

from __future__ import annotations

import copy
import json

import pytest

from ivv.contract import document as contract_lib
from ivv.contract.drift import drift
from ivv.contract.params import minimal_instance, valid_params
from ivv.contract.probe import Observed
from ivv.errors import ContractError
from ivv.rpc.auth import Credentials

DOC = {
    "openrpc": "1.2.6",
    "info": {"title": "mini", "version": "1.0.0"},
    "x-roles": ["viewer", "operator", "admin"],
    "methods": [
        {"name": "authenticate", "x-role": None,
         "params": [{"name": "auth_token", "required": True, "schema": {"type": "string"}}],
         "result": {"name": "r", "schema": {"type": "object"}}},
        {"name": "get_camera_list", "x-role": "viewer", "params": [],
         "result": {"name": "r", "schema": {"$ref": "#/components/schemas/CameraList"}},
         "errors": [{"$ref": "#/components/errors/AuthFailed"}]},
        {"name": "take_snapshot", "x-role": "operator",
         "params": [{"$ref": "#/components/contentDescriptors/Device"},
                    {"name": "filename", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"}}],
         "result": {"name": "r", "schema": {"type": "object", "required": ["filename"],
                                           "properties": {"filename": {"type": "string"}}}},
         "examples": [{"name": "one", "params": [{"name": "device", "value": "/dev/video0"}],
                       "result": {"name": "r", "value": {"filename": "a.jpg"}}}]},
        {"name": "get_metrics", "x-role": "admin", "params": [], "result": {"name": "r", "schema": {"type": "object"}}},
    ],
    "x-notifications": [{"name": "recording_status_update",
                         "params": [{"name": "device", "required": True, "schema": {"type": "string"}},
                                    {"name": "status", "required": True, "schema": {"enum": ["STARTED", "STOPPED"]}}]}],
    "components": {
        "schemas": {
            "Camera": {"type": "object", "required": ["device", "status"],
                       "properties": {"device": {"type": "string"},
                                      "status": {"enum": ["CONNECTED", "DISCONNECTED"]}}},
            "CameraList": {"type": "object", "required": ["cameras", "total"],
                           "properties": {"cameras": {"type": "array", "items": {"$ref": "#/components/schemas/Camera"}},
                                          "total": {"type": "integer"}}},
        },
        "contentDescriptors": {"Device": {"name": "device", "required": True, "schema": {"type": "string"}}},
        "errors": {"AuthFailed": {"code": -32001, "message": "Authentication failed or token expired"},
                   "Permission": {"code": -32003, "message": "Insufficient permissions"}},
    },
}


@pytest.fixture
def contract():
    return contract_lib.Contract(copy.deepcopy(DOC), "mini.json")


def test_refs_are_inlined_and_params_schema_built(contract):
    m = contract.method("take_snapshot")
    assert m.required_params == ["device"]
    assert m.params_schema["properties"]["device"] == {"type": "string"}
    assert contract.method("get_camera_list").error_codes == {-32001}
    assert m.examples[0]["params"] == {"device": "/dev/video0"}


def test_result_violation_names_method_path_and_rule(contract):
    bad = {"cameras": [{"device": "/dev/video0", "status": "ON"}], "total": 1}
    errs = contract.validate_result("get_camera_list", bad)
    assert [(e.method, e.path, e.rule) for e in errs] == [("get_camera_list", "$.cameras[0].status", "enum")]
    missing = contract.validate_result("get_camera_list", {"cameras": []})
    assert missing[0].rule == "required" and "total" in missing[0].message and missing[0].path == "$.total"
    assert "get_camera_list result at $.total: required" in str(missing[0])


def test_params_and_notification_validation(contract):
    assert contract.validate_params("take_snapshot", {"device": "/dev/video0", "filename": "a.jpg"}) == []
    errs = contract.validate_params("take_snapshot", {"device": 3, "filename": "../x"})
    assert {(e.path, e.rule) for e in errs} == {("$.device", "type"), ("$.filename", "pattern")}
    assert contract.validate_notification("recording_status_update", {"device": "d", "status": "STARTED"}) == []
    assert contract.validate_notification("recording_status_update", {"device": "d"})[0].rule == "required"
    assert contract.validate_notification("nope", {})[0].rule == "undocumented"


def test_roles_and_codes(contract):
    assert contract.allows("get_camera_list", "viewer")
    assert not contract.allows("take_snapshot", "viewer")
    assert contract.allows("take_snapshot", "admin")
    assert not contract.allows("get_metrics", None)
    assert contract.allows("authenticate", None)
    assert contract.code_for("auth") == -32001 and contract.code_for("permission") == -32003
    assert {-32700, -32601, -32001, -32003} <= contract.documented_codes()


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d.pop("methods"), "'methods' is a required property"),
    (lambda d: d.__setitem__("openrpc", "3.0"), "$.openrpc"),
    (lambda d: d["methods"][1].__setitem__("x-role", "superuser"), "superuser"),
    (lambda d: d["methods"][1]["result"]["schema"].__setitem__("$ref", "#/components/schemas/Nope"), "Nope"),
    (lambda d: d["methods"].append(copy.deepcopy(d["methods"][1])), "duplicate method"),
    (lambda d: d["methods"][2]["params"].append({"name": "x", "schema": {"type": 5}}), "invalid JSON Schema"),
    (lambda d: d["methods"][0]["params"].append({"schema": {}}), "methods"),
])
def test_broken_documents_are_refused_with_the_field(mutate, needle):
    doc = copy.deepcopy(DOC)
    mutate(doc)
    with pytest.raises(ContractError) as info:
        contract_lib.Contract(doc, "mini.json")
    assert "mini.json" in str(info.value) and needle in str(info.value)


def test_load_reports_file_and_line(tmp_path):
    bad = tmp_path / "c.json"
    bad.write_text('{"openrpc": "1.2.6",\n  "info": }')
    with pytest.raises(ContractError, match=r"c.json: line 2"):
        contract_lib.load(bad)
    with pytest.raises(ContractError, match="cannot read"):
        contract_lib.load(tmp_path / "missing.json")
    good = tmp_path / "ok.json"
    good.write_text(json.dumps(DOC))
    assert contract_lib.load(good).title == "mini"


def test_valid_params_prefers_examples_then_service_values(contract):
    obs = Observed()
    assert valid_params(contract.method("take_snapshot"), obs) == {"device": "/dev/video0"}
    obs.note("get_camera_list", {"jsonrpc": "2.0", "id": 1, "result": {"cameras": [{"device": "/dev/video7"}]}})
    assert valid_params(contract.method("take_snapshot"), obs) == {"device": "/dev/video7"}
    assert minimal_instance({"type": "object", "required": ["a"], "properties": {"a": {"enum": ["x", "y"]}}}) == {"a": "x"}


def test_drift_lists_missing_fields_and_undocumented_codes(contract):
    obs = Observed()
    obs.note("get_camera_list", {"jsonrpc": "2.0", "id": 1, "result": {"cameras": [], "extra": 1}})
    obs.note("get_metrics", {"jsonrpc": "2.0", "id": 2, "error": {"code": -1000, "message": "x"}})
    rows = {r.name: r for r in drift(contract, obs)}
    assert not rows["error codes"].passed and "-1000" in rows["error codes"].observed
    cams = rows["method get_camera_list"]
    assert not cams.passed and "missing ['total']" in cams.observed and "undocumented ['extra']" in cams.observed


def test_bad_tokens_are_what_they_claim():
    import jwt

    creds = Credentials("k" * 40, api_keys={"viewer": "csk_viewer_key_1234"}, revoked_api_key="csk_revoked_9876")
    ok = jwt.decode(creds.token("operator"), "k" * 40, algorithms=["HS256"])
    assert ok["role"] == "operator" and ok["user_id"]
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(creds.expired(), "k" * 40, algorithms=["HS256"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(creds.forged(), "k" * 40, algorithms=["HS256"])
    with pytest.raises(jwt.ImmatureSignatureError):
        jwt.decode(creds.not_yet_valid(), "k" * 40, algorithms=["HS256"])
    assert jwt.get_unverified_header(creds.alg_none())["alg"] == "none"
    assert creds.bad("no_token") is None and creds.bad("revoked_api_key") == "csk_revoked_9876"
