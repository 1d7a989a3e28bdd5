"""weak_secret (tokens signed with "changeme" accepted) -> security.no_default_credentials FAIL."""

import pytest
from security_support import caught

pytestmark = pytest.mark.slow


def test_fault_security_no_default_credentials_weak_secret(tmp_path):
    verdict, fails, _ = caught(tmp_path, "weak_secret", 1, "security.no_default_credentials", "placeholder")
    assert verdict["verdict"] == "FAIL"
    assert "'changeme'" in fails[0]["observed"]
    assert "signed with placeholder secret 'changeme'" in fails[0]["exchange"]
    assert '"authenticated": true' in fails[0]["exchange"]
