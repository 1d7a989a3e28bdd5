"""file_traversal (file names not confined to their folder) -> security.path_traversal FAIL."""

import pytest
from security_support import caught

pytestmark = pytest.mark.slow


def test_fault_security_path_traversal_file_traversal(tmp_path):
    verdict, fails, _ = caught(tmp_path, "file_traversal", 1, "security.path_traversal", "path_traversal")
    assert verdict["verdict"] == "FAIL"
    assert "served:" in fails[0]["observed"]
    assert "CONTAINS /etc/passwd" in fails[0]["exchange"]
