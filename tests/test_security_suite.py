"""The clean reference service passes every security probe, and the bundle shows no secret."""

import pytest
from security_support import SECURITY_CRITERIA, dev_stack, leaked_secrets, records, security_gate, verdicts

pytestmark = pytest.mark.slow


def test_clean_stack_passes_every_probe(tmp_path):
    with dev_stack(tmp_path) as stack:
        status, bundle, output = security_gate(tmp_path, stack)
        secrets = stack.credentials
    assert (bundle / "verdicts.json").exists(), output
    criteria = verdicts(bundle)["criteria"]
    for criterion in SECURITY_CRITERIA:
        assert criteria[criterion]["verdict"] == "PASS", (criterion, criteria[criterion], output[-3000:])
    checks = [r for r in records(bundle) if r["kind"] == "check" and r["criterion"] in SECURITY_CRITERIA]
    assert len(checks) >= 20 and all(r["artifacts"] for r in checks)
    assert leaked_secrets(bundle, secrets) == []
