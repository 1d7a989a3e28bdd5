"""bind_all (listen on 0.0.0.0 whatever is configured) -> security.least_exposure FAIL."""

import pytest
from security_support import caught

pytestmark = pytest.mark.slow


def test_fault_security_least_exposure_bind_all(tmp_path):
    verdict, fails, _ = caught(tmp_path, "bind_all", 1, "security.least_exposure", "listening")
    assert verdict["verdict"] == "FAIL"
    assert "configured for 127.0.0.1 listens on 0.0.0.0" in fails[0]["observed"]
    assert "WIDER THAN CONFIGURED" in fails[0]["exchange"]
