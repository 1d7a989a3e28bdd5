"""A matrix of facts as evidence: one summary check carrying the table, then one check per failing row
with its exchange, the full transcript as an artifact."""

from __future__ import annotations

from ivv.evidence.facts import Fact
from ivv.rpc.auth import redact_text


def table(rows: list[Fact], columns=("check", "expected", "observed", "verdict")) -> dict:
    """The spine's table convention for evidence details."""
    return {"columns": list(columns),
            "rows": [[r.name, r.expected, redact_text(r.observed), str(r.verdict)] for r in rows]}


def transcript(rows: list[Fact]) -> str:
    return "\n".join(r.transcript() for r in rows)


def record_matrix(evidence, criterion: str, title: str, rows: list[Fact], table: dict, artifact_name: str,
                  transcript: str) -> list[Fact]:
    """One summary check carrying the table, plus one check per failing row with its exchange."""
    art = evidence.artifact(artifact_name, transcript)
    failed = [r for r in rows if not r.passed]
    evidence.check(criterion, title, bool(rows) and not failed, expected=f"{len(rows)}/{len(rows)} rows PASS",
                   observed=f"{len(rows) - len(failed)}/{len(rows)} rows PASS", artifacts=[art],
                   details={"table": {"title": title, **table}})
    for row in failed:
        evidence.check(criterion, f"{title}: {row.name}", False, expected=row.expected, observed=row.observed,
                       artifacts=[art], details={"exchanges": [_short(e) for e in row.exchanges], **row.details})
    return failed


def _short(exchange: dict, limit: int = 2000) -> dict:
    """Exchanges in evidence details stay readable; the artifact keeps the full frames."""
    def cut(text: str) -> str:
        return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars; full frame in the artifact)"
    return {**exchange, "sent": cut(exchange.get("sent", "")), "received": [cut(r) for r in exchange.get("received", [])]}
