"""A matrix of facts as evidence: one summary record carrying the table, then one check per failing row
with its exchange and one gap per row that could not be decided, the full transcript as an artifact.

The summary is a PASS check only when every row passed; with a failing row it FAILs, and with an
undecided row (and none failing), or no row at all, it is a gap: the criterion is NOT VERIFIED.
"""

from __future__ import annotations

from ivv.evidence.facts import Fact, Undecided
from ivv.rpc.auth import redact_text

Row = Fact | Undecided


def table(rows: list[Row], columns=("check", "expected", "observed", "verdict")) -> dict:
    """The spine's table convention for evidence details."""
    return {"columns": list(columns),
            "rows": [[r.name, "-", redact_text(r.reason), str(r.verdict)] if isinstance(r, Undecided) else
                     [r.name, r.expected, redact_text(str(r.observed)), str(r.verdict)] for r in rows]}


def transcript(rows: list[Row]) -> str:
    return "\n".join(f"## {r.name}: {r.verdict}\n{r.reason}\n" if isinstance(r, Undecided) else r.transcript()
                     for r in rows)


def record_matrix(evidence, criterion: str, title: str, rows: list[Row], table: dict, artifact_name: str,
                  transcript: str) -> list[Fact]:
    """The summary record carrying the table, one check per failing row and one gap per undecided row;
    returns the failing rows."""
    art = evidence.artifact(artifact_name, transcript)
    failed = [r for r in rows if isinstance(r, Fact) and not r.passed]
    undecided = [r for r in rows if isinstance(r, Undecided)]
    passed = len(rows) - len(failed) - len(undecided)
    details = {"table": {"title": title, **table}}
    observed = f"{passed}/{len(rows)} rows PASS" + (f", {len(undecided)} NOT VERIFIED" if undecided else "")
    if failed or (rows and not undecided):
        evidence.check(criterion, title, not failed, expected=f"{len(rows)}/{len(rows)} rows PASS",
                       observed=observed, artifacts=[art], details=details)
    else:
        evidence.gap(criterion, f"{title}: {observed if rows else 'no row to decide'}", details=details)
    for row in failed:
        evidence.check(criterion, f"{title}: {row.name}", False, expected=row.expected, observed=row.observed,
                       artifacts=[art], details={"exchanges": [_short(e) for e in row.exchanges], **row.details})
    for row in undecided:
        evidence.gap(criterion, f"{title}: {row.name}: {row.reason}", details=dict(row.details) or None)
    return failed


def _short(exchange: dict, limit: int = 2000) -> dict:
    """Exchanges in evidence details stay readable; the artifact keeps the full frames."""
    def cut(text: str) -> str:
        return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars; full frame in the artifact)"
    return {**exchange, "sent": cut(exchange.get("sent", "")), "received": [cut(r) for r in exchange.get("received", [])]}
