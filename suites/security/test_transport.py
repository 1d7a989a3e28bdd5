"""Transport security, judged in the production environment: the API port completes a TLS handshake,
the certificate verifies (chain against the CA the client trusts, and the name it dials), an
authenticated wss:// session works with that verification on, and plain ws:// is refused on the same
port. The certificate's facts and how the environment was reached are recorded."""

import pytest

from ivv.contract.transport import transport_facts
from ivv.evidence.facts import Fact, record
from ivv.rpc.tls import inspect

CRITERION = "security.transport_tls"
pytestmark = pytest.mark.usefixtures("rpc_evidence_target")  # evidence names the stack's target


@pytest.mark.criterion(CRITERION)
@pytest.mark.api_check("transport_tls")
def test_tls_on_verified_plain_refused(tls_endpoint, evidence):
    ep = tls_endpoint
    context = {"environment": ep.environment, "setup": ep.setup, "trust": ep.trust.source}
    if ep.deploy_error:
        record(evidence, Fact(f"{ep.environment} environment deployed and ready", False, "ready", ep.deploy_error,
                              details=context), CRITERION)
        pytest.fail(f"{ep.environment} did not deploy: {ep.deploy_error}")
    facts = transport_facts(inspect(ep.host, ep.port, ep.trust), ep.trust.source, context, ep.probe, ep.host,
                            ep.port, ep.path)
    record(evidence, facts, CRITERION)
    assert all(f.passed for f in facts), "; ".join(f"{f.name}: {f.observed}" for f in facts if not f.passed)
