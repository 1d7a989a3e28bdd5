"""Error disclosure, request size limits and path traversal decided on real stub services
(tests/stubs/camera_stub.py), each misbehaving in one way: a traceback sent as raw text or as an error
string FAILs, no error reply at all is NOT VERIFIED; a service with no size limit FAILs even when it
validates params strictly, one whose real limit is below the stated one is NOT VERIFIED (its control
failed); a file route answering 500 to traversal FAILs, a closed file port is NOT VERIFIED. The clean
stub, whose method names are not the reference stack's, PASSes all three."""

from __future__ import annotations

import socket

import pytest
from stub_support import MAX_BYTES, stub_fixture, verdict_of

from ivv.security import disclosure, limits, traversal
from ivv.security.wire import Transcript

ROUTES = ["/media/images/"]
camera_stub_fixture = stub_fixture()


def disclosed(tmp_path, stub):
    return verdict_of(tmp_path, "security.error_disclosure", [disclosure.disclosure_probe(stub.surface(), Transcript())])


def size_limited(tmp_path, stub):
    return verdict_of(tmp_path, "security.request_limits",
                      [limits.size_limit_probe(stub.surface(), Transcript(), MAX_BYTES, None)])


def confined(tmp_path, stub, base=None):
    surface = stub.surface()
    results = traversal.traversal_probe(base or stub.files_base, ROUTES, stub.headers(), "a valid admin token",
                                        traversal.control_files(surface, ROUTES))
    return verdict_of(tmp_path, "security.path_traversal", results)


def test_clean_stub_passes_disclosure_size_and_traversal(camera_stub, tmp_path):
    stub = camera_stub()
    for name, judge in (("disclosure", disclosed), ("size", size_limited), ("traversal", confined)):
        verdict, records = judge(tmp_path / name, stub)
        assert verdict == "PASS", (name, [(r.name, r.observed or r.reason) for r in records])


@pytest.mark.parametrize("fault", ["text_traceback", "string_error"])
def test_fault_security_error_disclosure_traceback_in_any_shape(camera_stub, tmp_path, fault):
    verdict, records = disclosed(tmp_path, camera_stub(fault))
    assert verdict == "FAIL" and "stack trace" in records[0].observed and "source location" in records[0].observed


def test_no_error_reply_is_not_verified(camera_stub, tmp_path):
    verdict, records = disclosed(tmp_path, camera_stub("no_errors"))
    assert verdict == "NOT VERIFIED" and "0 error replies to scan" in records[0].reason


def test_fault_security_request_limits_no_size_limit(camera_stub, tmp_path):
    verdict, records = size_limited(tmp_path, camera_stub("no_size_limit"))
    assert verdict == "FAIL" and "SUCCEEDED" in records[0].observed


def test_size_limit_below_the_stated_one_is_not_verified(camera_stub, tmp_path):
    verdict, records = size_limited(tmp_path, camera_stub(max_bytes=MAX_BYTES // 4))
    assert verdict == "NOT VERIFIED"
    assert "a request just under the limit is answered (control)" in records[0].reason


def test_fault_security_path_traversal_server_error_is_no_refusal(camera_stub, tmp_path):
    verdict, records = confined(tmp_path, camera_stub("files_500"))
    assert verdict == "FAIL" and "not a refusal: plain ../: 500" in records[0].observed


def test_traversal_against_a_closed_port_is_not_verified(camera_stub, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening: refused
        verdict, records = confined(tmp_path, camera_stub(), base=closed)
    assert verdict == "NOT VERIFIED" and "its positive control did not succeed" in records[0].reason
