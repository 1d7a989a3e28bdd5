"""no_rate_limit (the per-connection limit off) -> security.request_limits FAIL, with the burst shown."""

import pytest
from security_support import caught

pytestmark = pytest.mark.slow


def test_fault_security_request_limits_no_rate_limit(tmp_path):
    verdict, fails, _ = caught(tmp_path, "no_rate_limit", 1, "security.request_limits", "rate_limit")
    assert verdict["verdict"] == "FAIL"
    assert fails[0]["name"] == "rate limit enforced and service up after a burst"
    assert fails[0]["details"]["limited"] == 0 and fails[0]["details"]["answered"] > 800
    assert "0 x error -32002" in fails[0]["exchange"]
