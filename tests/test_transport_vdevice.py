"""security.transport_tls on the virtual device, through `ivv gate`.

The device runs staging (no TLS), so the check deploys production for itself: a CA made for the run
issues the device a certificate (inventory `tls.lab_ca`), the client verifies chain and name, plain
ws:// must be refused, and staging is deployed again after. The FAIL side: a client that trusts another
CA cannot verify the device's certificate, and the criterion says so with the verifier's reason.
"""

from __future__ import annotations

import opsrun
import pytest

from ivv.rpc.tls import speaks_tls

pytestmark = [pytest.mark.vdevice, pytest.mark.extended]  # long: make test-extended

GATE = opsrun.ROOT / "deployment" / "gates" / "production-readiness.yaml"
CRITERION = "security.transport_tls"
ONLY_TRANSPORT = ["-k", "test_tls_on_verified_plain_refused"]


def _rows(run) -> dict[str, dict]:
    return {r["name"]: r for r in run.records(CRITERION) if r.get("kind") == "check"}


def _back_on_staging(vdevice) -> None:
    ops = opsrun.stack_ops(vdevice)
    assert ops.is_ready(), ops.ready_answer()
    tls, detail = speaks_tls(*vdevice.address(ops.profile.rpc["port"]))
    assert tls is False, f"the API port still speaks TLS after the check: {detail}"


def test_transport_tls_passes_with_a_certificate_the_client_verifies(vdevice, tmp_path):
    run = opsrun.run_gate(tmp_path, vdevice, "security", GATE, pytest_args=ONLY_TRANSPORT, timeout=900)
    assert run.verdict(CRITERION) == "PASS", run.explain()
    rows = _rows(run)
    verified = rows["certificate verifies for vdevice"]
    cert = verified["details"]["certificate"]
    assert "ivv lab CA" in cert["issuer"] and "vdevice" in cert["san"] and not cert["self_signed"], cert
    setup = verified["details"]["setup"]
    assert setup["deployed"]["environment"] == "production" and setup["deployed"]["from"] == "staging", setup
    assert rows["plain ws:// refused on the API port"]["verdict"] == "PASS"
    assert rows["wss:// session, certificate verified"]["verdict"] == "PASS"
    _back_on_staging(vdevice)


def test_transport_tls_fails_when_the_client_trusts_another_ca(vdevice, tmp_path):
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    run = opsrun.run_gate(tmp_path, vdevice, "security", GATE, pytest_args=ONLY_TRANSPORT, timeout=900,
                          tls={"ca_file": str(other), "server_name": "vdevice"})
    assert run.verdict(CRITERION) == "FAIL", run.explain()
    failing = {r["name"]: r for r in run.failing(CRITERION)}
    assert "unable to get local issuer certificate" in failing["certificate verifies for vdevice"]["observed"]
    assert "wss:// session, certificate verified" in failing, sorted(failing)
    _back_on_staging(vdevice)
