"""accept_alg_none (unsigned JWTs accepted) -> security.auth_enforced FAIL on the alg-none probe."""

import pytest
from security_support import caught

pytestmark = pytest.mark.slow


def test_fault_security_auth_enforced_accept_alg_none(tmp_path):
    verdict, fails, _ = caught(tmp_path, "accept_alg_none", 1, "security.auth_enforced", "hostile_tokens")
    assert verdict["verdict"] == "FAIL"
    names = [f["name"] for f in fails]
    assert names == ["alg none token refused"], names
    exchange = fails[0]["exchange"]
    assert "<token alg=none" in exchange and '"authenticated": true' in exchange
