"""Security suite: the authentication, session, exposure and limit claims attacked from outside.

Each probe lives in ivv.security; this file says which probe decides which criterion. Every finding is
a check with the exact exchange (secrets described, never shown) saved as an artifact, through
`ivv.evidence.facts.record`, as in every suite.
"""

from __future__ import annotations

import pytest

from ivv.errors import CapabilityMissing
from ivv.evidence.facts import record
from ivv.security import access, authn, disclosure, expiry, exposure, limits, sessions, traversal
from ivv.security.surface import (
    AUTH_ENFORCED,
    ERROR_DISCLOSURE,
    LEAST_EXPOSURE,
    NO_DEFAULT_CREDENTIALS,
    PATH_TRAVERSAL,
    REQUEST_LIMITS,
    SESSION_ISOLATION,
    as_profiled,
)
from ivv.security.wire import Transcript


@pytest.fixture
def surface(security):
    """The attack surface as the profile describes it (JWT algorithm and claims, rate-limit code)."""
    return as_profiled(security.surface, security.profile)


@pytest.mark.criterion(AUTH_ENFORCED)
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_hostile_tokens_refused(surface, evidence):
    record(evidence, authn.token_probes(surface, Transcript()))


@pytest.mark.criterion(AUTH_ENFORCED)
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_hostile_api_keys_refused(surface, evidence):
    record(evidence, authn.api_key_probes(surface, Transcript()))


@pytest.mark.criterion(AUTH_ENFORCED)
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_unauthenticated_session_refused(surface, evidence):
    record(evidence, access.unauthenticated_probe(surface, Transcript()))


@pytest.mark.criterion(AUTH_ENFORCED)
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_roles_enforced(surface, evidence):
    record(evidence, access.privilege_probes(surface, Transcript()))


@pytest.mark.criterion(AUTH_ENFORCED)
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_expired_session_refused(surface, evidence):
    record(evidence, expiry.expiry_probe(surface, Transcript()))


@pytest.mark.criterion(NO_DEFAULT_CREDENTIALS)
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_no_placeholder_secret(surface, evidence):
    record(evidence, authn.placeholder_secret_probe(surface, Transcript()))


@pytest.mark.criterion(SESSION_ISOLATION)
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_session_isolation(surface, evidence):
    record(evidence, sessions.isolation_probe(surface, Transcript()))


@pytest.mark.criterion(ERROR_DISCLOSURE)
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_errors_disclose_nothing(surface, evidence):
    record(evidence, disclosure.disclosure_probe(surface, Transcript()))


@pytest.mark.criterion(REQUEST_LIMITS)
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_rate_limit(security, surface, evidence):
    rate = security.rate_limit
    record(evidence, limits.rate_limit_probe(surface, Transcript(), rate.get("per_second"), rate.get("burst"),
                                             security.health_url))


@pytest.mark.criterion(REQUEST_LIMITS)
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_request_size_limit(security, surface, evidence):
    record(evidence, limits.size_limit_probe(surface, Transcript(), security.max_request_bytes, security.health_url))


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
@pytest.mark.api_check("surface")  # ivv.security.surface: wire probes of the protocol
def test_path_traversal(security, surface, evidence):
    role = surface.roles[-1]
    record(evidence, traversal.traversal_probe(
        security.files_base, security.file_routes, security.file_headers,
        f"a valid {role} credential in the {', '.join(security.file_headers)} header",
        traversal.control_files(surface, security.file_routes)))
