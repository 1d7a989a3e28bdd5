"""session_leak (one connection's login shared by all) -> security.session_isolation FAIL."""

import pytest
from security_support import caught

pytestmark = pytest.mark.slow


def test_fault_security_session_isolation_session_leak(tmp_path):
    verdict, fails, _ = caught(tmp_path, "session_leak", 1, "security.session_isolation", "session_isolation")
    assert verdict["verdict"] == "FAIL"
    assert fails and "anonymous connection called" in fails[0]["observed"]
    # the exchange shows the anonymous connection getting a result after the admin login elsewhere
    assert "anon <" in fails[0]["exchange"] and '"result"' in fails[0]["exchange"].split("anon >", 1)[1]
