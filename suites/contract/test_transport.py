"""Transport security, judged in the production environment: the API port completes a TLS handshake,
the certificate verifies (chain against the CA the client trusts, and the name it dials), an
authenticated wss:// session works with that verification on, and plain ws:// is refused on the same
port. The certificate's facts and how the environment was reached are recorded."""

import pytest

from ivv.contract.transport import plain_ws_refused, wss_works
from ivv.rpc.tls import inspect

CRITERION = "security.transport_tls"


@pytest.mark.criterion(CRITERION)
def test_tls_on_verified_plain_refused(tls_endpoint, evidence):
    ep = tls_endpoint
    context = {"environment": ep.environment, "setup": ep.setup, "trust": ep.trust.source}
    if ep.deploy_error:
        evidence.check(CRITERION, f"{ep.environment} environment deployed and ready", False,
                       expected="ready", observed=ep.deploy_error, details=context)
        pytest.fail(f"{ep.environment} did not deploy: {ep.deploy_error}")
    facts = inspect(ep.host, ep.port, ep.trust)
    evidence.check(CRITERION, "TLS handshake on the API port", facts["tls"], expected="a TLS handshake",
                   observed=(f"{facts['protocol']} {facts['cipher']}" if facts["tls"] else facts["handshake"]),
                   details=context)
    evidence.check(CRITERION, f"certificate verifies for {facts['server_name']}", facts["verified"],
                   expected=f"chain and name verify against the {ep.trust.source}",
                   observed="verified" if facts["verified"] else facts.get("verify_error", "no TLS"),
                   details={"certificate": facts.get("certificate"), **context})
    works = wss_works(ep.probe)
    evidence.check(CRITERION, "wss:// session, certificate verified", works.passed, expected=works.expected,
                   observed=works.observed, details=dict(works.details))
    refused = plain_ws_refused(ep.host, ep.port, ep.path)
    evidence.check(CRITERION, "plain ws:// refused on the API port", refused.passed, expected=refused.expected,
                   observed=refused.observed, details={"exchanges": list(refused.exchanges)} if refused.exchanges else None)
    assert facts["tls"] and facts["verified"] and works.passed and refused.passed, \
        f"tls={facts['tls']} verified={facts['verified']} ({facts.get('verify_error', '')}); " \
        f"wss: {works.observed}; plain ws: {refused.observed}"
