"""Session isolation through the stack's protocol, where it offers the check: over HTTP clients with
different bearer tokens, each with its own keep-alive connections and cookies, take turns
(`ivv.security.openapi_sessions`). Over JSON-RPC the wire probe in test_security.py decides it."""

import pytest

CRITERION = "security.session_isolation"
pytestmark = pytest.mark.usefixtures("rpc_evidence_target")  # evidence names the stack's target


@pytest.mark.criterion(CRITERION)
@pytest.mark.api_check("session_isolation")
def test_clients_kept_apart(api_checks, evidence):
    failures = api_checks.session_isolation().record(evidence, CRITERION)
    assert not failures, "session isolation failures:\n" + "\n".join(failures)
