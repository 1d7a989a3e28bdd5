"""Transport security: with TLS on, wss:// works with a certificate the client verifies and plain ws://
is refused on the same port; the certificate's facts are recorded."""

import pytest

from ivv.contract_checks import plain_ws_refused, tls_facts, wss_works

CRITERION = "security.transport_tls"


@pytest.mark.criterion(CRITERION)
def test_tls_on_plain_refused(tls_endpoint, evidence):
    ep = tls_endpoint
    facts = tls_facts(ep.host, ep.port, ep.ca_file)
    evidence.check(CRITERION, "certificate facts", bool(facts.get("protocol")), expected="a TLS handshake",
                   observed=f"{facts.get('protocol')} {facts.get('cipher')}", details={"certificate": facts,
                                                                                        "environment": ep.environment})
    works = wss_works(ep.probe)
    evidence.check(CRITERION, "wss:// session (certificate verified)" if ep.ca_file else "wss:// session",
                   works.passed, expected=works.expected, observed=works.observed, details=works.extra)
    refused = plain_ws_refused(ep.host, ep.port, ep.path)
    evidence.check(CRITERION, "plain ws:// refused on the TLS port", refused.passed, expected=refused.expected,
                   observed=refused.observed)
    if not ep.ca_file:
        evidence.gap(CRITERION, "the device's certificate chain was not verified (no CA known to the harness)")
    assert works.passed and refused.passed, f"{works.observed}; {refused.observed}"
