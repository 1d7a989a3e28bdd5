"""The one readiness rule, and whether a health answer can be believed.

A health answer is only evidence when the body status and the HTTP code agree: a `not_ready` body with
200 is a lie a load balancer would believe. Ready means, for an endpoint of the profile, an answer with a
2xx code AND a body status the profile documents with a 2xx code (`codes: {ready: 200, not_ready: 503}`);
an endpoint that documents no codes falls back to the common positive words. Status words are compared
without case. Every caller (deploy, health, fixtures, the stack objects) asks `is_ready` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ivv import http
from ivv.poll import WaitResult, wait_until

NEGATIVE_STATUSES = frozenset({"not_ready", "unhealthy", "error", "down", "fail", "failed", "critical"})
POSITIVE_STATUSES = frozenset({"ready", "healthy", "ok", "up", "pass", "degraded"})
DEFAULT_STATUS_CODES = {"ready": 200, "healthy": 200, "degraded": 200, "not_ready": 503, "unhealthy": 500}


def _codes(spec: Mapping[str, Any] | None) -> dict[str, int]:
    """The documented status word -> HTTP code of an endpoint (lowercase words)."""
    codes = (spec or {}).get("codes") or {}
    return {str(word).lower(): int(code) for word, code in codes.items()}


def positive_statuses(spec: Mapping[str, Any] | None) -> frozenset[str]:
    """Body statuses that mean ready/healthy for this endpoint: those it documents with a 2xx code."""
    codes = _codes(spec)
    if not codes:
        return POSITIVE_STATUSES
    return frozenset(word for word, code in codes.items() if 200 <= code < 300)


@dataclass(frozen=True)
class HealthAnswer(http.HttpAnswer):
    """One GET of a health endpoint, with the endpoint's documented codes to judge it by."""

    spec: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def body_status(self) -> str | None:
        status = self.body.get("status") if isinstance(self.body, dict) else None
        return str(status) if status is not None else None

    @property
    def is_ready(self) -> bool:
        """2xx AND a positive body status: both, never one."""
        status = (self.body_status or "").lower()
        return (self.status_code is not None and 200 <= self.status_code < 300
                and status in positive_statuses(self.spec))


def probe(url: str, spec: Mapping[str, Any] | None = None, timeout: float = 5.0, verify: bool | str = False,
          session=None) -> HealthAnswer:
    """GET a health endpoint once (never raises: a refused connection is an answer too)."""
    answer = http.get(url, timeout=timeout, verify=verify, session=session)
    return HealthAnswer(answer.url, answer.status_code, answer.body, answer.latency_s, answer.error,
                        spec=dict(spec or {}))


def expected_code(body_status: str | None, status_codes: Mapping[str, int] | None = None) -> int | None:
    """The status code the documentation promises for a body status (None when it says nothing)."""
    codes = {str(k).lower(): v for k, v in (status_codes or DEFAULT_STATUS_CODES).items()}
    return codes.get(body_status.lower()) if body_status is not None else None


def consistency(answer: http.HttpAnswer, status_codes: Mapping[str, int] | None = None) -> tuple[bool, str]:
    """Does the status code agree with the body? Returns (ok, reason).

    Judged two ways, and both must hold: the code the documentation maps the body status to, and the
    general rule that a negative body never comes with 2xx (nor a positive body with 5xx).
    """
    if not answer.answered:
        return False, f"no answer: {answer.error}"
    status = answer.body.get("status") if isinstance(answer.body, dict) else None
    if status is None:
        return False, f"body has no 'status' field (HTTP {answer.status_code})"
    word, code = str(status).lower(), answer.status_code
    ok_code = 200 <= code < 300
    if word in NEGATIVE_STATUSES and ok_code:
        return False, f"body says {status!r} but HTTP {code}: a prober would count it healthy"
    if word in POSITIVE_STATUSES and not ok_code:
        return False, f"body says {status!r} but HTTP {code}"
    want = expected_code(str(status), status_codes)
    if want is not None and want != code:
        return False, f"body says {status!r}: documented code {want}, got {code}"
    if word not in NEGATIVE_STATUSES | POSITIVE_STATUSES and want is None:
        return False, f"body status {status!r} is neither documented nor a known status word"
    return True, f"{status!r} with HTTP {code}"


def wait_ready(url: str, timeout_s: float, interval_s: float = 0.25, verify: bool | str = False,
               spec: Mapping[str, Any] | None = None) -> WaitResult:
    """Wait until `url` says ready by code AND body."""
    def check():
        answer = probe(url, spec, timeout=min(5.0, max(timeout_s, 0.5)), verify=verify)
        return answer.is_ready, answer.summary()
    return wait_until(check, timeout_s, interval_s)


def wait_not_ready(url: str, timeout_s: float, interval_s: float = 0.25, verify: bool | str = False,
                   spec: Mapping[str, Any] | None = None) -> WaitResult:
    """Wait until `url` answers and says not ready (a refused connection does not count: it proves nothing
    about whether the health server tells the truth)."""
    def check():
        answer = probe(url, spec, timeout=min(5.0, max(timeout_s, 0.5)), verify=verify)
        return answer.answered and not answer.is_ready, answer.summary()
    return wait_until(check, timeout_s, interval_s)


def schema_errors(body: object, schema: dict) -> list[str]:
    """Every way `body` breaks `schema`, as 'path: message' lines (empty list = valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for err in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        out.append(f"{where}: {err.message}")
    return out
