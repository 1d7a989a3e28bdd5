"""Auth matrix: every method x {no token, expired, forged, alg none, not yet valid, each role, API keys,
revoked API key}; the contract's role per method says who must be refused."""

import pytest

from ivv.contract.checks import auth_failures, auth_matrix, credential_kinds, record_matrix, transcript

CRITERION = "security.auth_enforced"


def _grid(rows, contract, kinds):
    """Methods down, credentials across: 'allowed' / 'refused CODE' / 'FAIL ...' per cell."""
    cells = {(r.extra.get("method"), r.extra.get("credential")): r for r in rows}
    methods = list(dict.fromkeys(r.extra.get("method") for r in rows if r.extra.get("method")))
    out = []
    for m in methods:
        line = [m, str(contract.least_role(m) or "none")]
        for k in kinds:
            r = cells.get((m, k))
            line.append("-" if r is None else (r.observed.split(":")[0][:24] if r.passed else "FAIL " + r.observed[:60]))
        in_params = [r for (method, cred), r in cells.items() if method == m and cred.endswith(" in params")]
        bad = [r.extra["credential"] for r in in_params if not r.passed]
        line.append("-" if not in_params else (f"{len(in_params)} as expected" if not bad else "FAIL " + ", ".join(bad)))
        out.append(line)
    return {"columns": ["method", "least role", *kinds, "token in params"], "rows": out}


@pytest.mark.criterion(CRITERION)
def test_auth_matrix(contract_probe, evidence):
    rows = auth_matrix(contract_probe)
    kinds = credential_kinds(contract_probe.credentials)
    failed = record_matrix(evidence, CRITERION, "auth and roles matrix", rows,
                           _grid(rows, contract_probe.contract, kinds), "auth-exchanges.txt", transcript(rows))
    assert not failed, "auth matrix failures:\n" + "\n".join(auth_failures(rows))
