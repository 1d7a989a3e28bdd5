"""Security suite: the authentication, session, exposure and limit claims attacked from outside.

Each probe lives in ivv.security; this file says which probe decides which criterion. Every finding is
a check with the exact exchange (secrets described, never shown) saved as an artifact.
"""

from __future__ import annotations

import pytest

from ivv.errors import CapabilityMissing
from ivv.security import authn, disclosure, exposure, limits, sessions, traversal
from ivv.security.findings import Finding
from ivv.security.surface import (
    AUTH_ENFORCED,
    ERROR_DISCLOSURE,
    LEAST_EXPOSURE,
    NO_DEFAULT_CREDENTIALS,
    PATH_TRAVERSAL,
    REQUEST_LIMITS,
    SESSION_ISOLATION,
)
from ivv.security.wire import Transcript


def record(evidence, results) -> None:
    """Findings become checks (with their exchange as an artifact); undecided probes become gaps."""
    for result in results if isinstance(results, list) else [results]:
        if isinstance(result, Finding):
            artifacts = [evidence.artifact(f"{result.name}.txt", result.exchange)] if result.exchange else []
            evidence.check(result.criterion, result.name, result.passed, expected=result.expected,
                           observed=result.observed, artifacts=artifacts, details=result.details or None)
        else:
            evidence.gap(result.criterion, f"{result.name}: {result.reason}")


@pytest.mark.criterion(AUTH_ENFORCED)
def test_hostile_tokens_refused(security, evidence):
    record(evidence, authn.token_probes(security.surface, Transcript()))


@pytest.mark.criterion(AUTH_ENFORCED)
def test_hostile_api_keys_refused(security, evidence):
    record(evidence, authn.api_key_probes(security.surface, Transcript()))


@pytest.mark.criterion(AUTH_ENFORCED)
def test_unauthenticated_session_refused(security, evidence):
    record(evidence, authn.unauthenticated_probe(security.surface, Transcript()))


@pytest.mark.criterion(AUTH_ENFORCED)
def test_roles_enforced(security, evidence):
    record(evidence, authn.privilege_probes(security.surface, Transcript()))


@pytest.mark.criterion(AUTH_ENFORCED)
def test_expired_session_refused(security, evidence):
    record(evidence, authn.expiry_probe(security.surface, Transcript()))


@pytest.mark.criterion(NO_DEFAULT_CREDENTIALS)
def test_no_placeholder_secret(security, evidence):
    record(evidence, authn.placeholder_secret_probe(security.surface, Transcript()))


@pytest.mark.criterion(SESSION_ISOLATION)
def test_session_isolation(security, evidence):
    record(evidence, sessions.isolation_probe(security.surface, Transcript()))


@pytest.mark.criterion(ERROR_DISCLOSURE)
def test_errors_disclose_nothing(security, evidence):
    record(evidence, disclosure.disclosure_probe(security.surface, Transcript()))


@pytest.mark.criterion(REQUEST_LIMITS)
def test_rate_limit(security, evidence):
    rate = security.rate_limit
    record(evidence, limits.rate_limit_probe(security.surface, Transcript(), rate.get("per_second"),
                                             rate.get("burst"), security.health_url))


@pytest.mark.criterion(REQUEST_LIMITS)
def test_request_size_limit(security, evidence):
    record(evidence, limits.size_limit_probe(security.surface, Transcript(), security.max_request_bytes,
                                             security.health_url))


@pytest.mark.criterion(LEAST_EXPOSURE)
def test_listening_addresses(security, evidence):
    try:
        seen = security.stack.listeners()
    except CapabilityMissing as exc:
        evidence.gap(LEAST_EXPOSURE, f"listening sockets: {exc}")
        return
    # the profile's `users` are the device's service accounts; a process tree the harness runs is its own
    allowed = security.service_users if seen.judge_users else None
    record(evidence, exposure.exposure_probe(seen.sockets, security.binds, seen.source, seen.raw, seen.users,
                                             allowed or None))


@pytest.mark.criterion(PATH_TRAVERSAL)
def test_path_traversal(security, evidence):
    transcript = Transcript()
    name = traversal.control_file(security.surface, transcript)
    control = (next((r for r in security.file_routes if "snapshots" in r), security.file_routes[0]), name) \
        if name and security.file_routes else None
    role = security.surface.roles[-1]
    record(evidence, traversal.traversal_probe(security.files_base, security.file_routes, security.file_headers,
                                               f"a valid {role} credential in the {', '.join(security.file_headers)} "
                                               "header", control))
