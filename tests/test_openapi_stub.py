"""The REST checks against tests/stubs/capture_stub.py over real sockets: the clean stub PASSes
conformance, fuzzing, HTTP compliance and the auth matrix; each fault knob makes its criterion FAIL with
the exchange that shows it; a probe whose positive control fails, or a service that never answers,
decides nothing (NOT VERIFIED, never PASS)."""

import pytest

from ivv.contract.http_compliance import http_compliance
from ivv.contract.openapi import conformance, fuzz
from ivv.security.openapi_auth import auth_matrix
from tests.stub_support import STUBS, verdict_of

SPEC = STUBS / "capture-stub.openapi.yaml"


def failed(results):
    return [r for r in results if getattr(r, "passed", True) is False]


def keyed_auth_matrix(url, headers, keys=None):
    """The auth matrix with the stub's API keys (without them, every key row is NOT VERIFIED)."""
    keys = keys or {}
    return auth_matrix(SPEC, url, headers, key_for=keys.get, revoked_key=keys.get("revoked"))


CHECKS = {
    "contract.conformance": lambda url, headers, _keys=None: conformance(SPEC, url, headers, examples=5),
    "contract.fuzz_robustness": lambda url, headers, _keys=None: fuzz(SPEC, url, headers, examples=25),
    "contract.http_compliance": lambda url, headers, _keys=None: http_compliance(SPEC, url, headers),
    "security.auth_enforced": keyed_auth_matrix,
}


@pytest.mark.parametrize("criterion", sorted(CHECKS))
def test_the_clean_stub_passes(capture_stub, tmp_path, criterion):
    url, headers, _token, _secret, keys = capture_stub(with_secret=True)
    results = CHECKS[criterion](url, headers, keys)
    assert not failed(results), [r.observed for r in failed(results)]
    verdict, records = verdict_of(tmp_path, criterion, results)
    assert verdict == "PASS" and records


@pytest.mark.parametrize("criterion, fault, operation, shows", [
    ("contract.conformance", "wrong_status", "POST /captures", "Received: 200"),
    ("contract.conformance", "schema_drift", "GET /status", "is not of type 'integer'"),
    ("contract.fuzz_robustness", "server_error", "POST /captures", "500"),
    ("contract.http_compliance", "lax_media", "POST /captures with a text/plain body", "201"),
    ("contract.http_compliance", "no_allow", "DELETE /status", "Allow: (none)"),
    ("security.auth_enforced", "auth_bypass", "GET /status with no credentials", "200"),
])
def test_each_fault_knob_fails_its_criterion_with_the_exchange(capture_stub, tmp_path, criterion, fault,
                                                               operation, shows):
    url, headers, token, _secret, keys = capture_stub(fault, with_secret=True)
    results = CHECKS[criterion](url, headers, keys)
    bad = [r for r in failed(results) if r.name.startswith(operation)]
    assert bad, f"{fault} did not fail {operation}: {[(r.name, getattr(r, 'observed', None)) for r in results]}"
    text = bad[0].transcript()
    assert shows in text.replace('"', "'") and bad[0].exchanges, text
    assert token not in text and "[REDACTED]" in text or "Authorization" not in text
    verdict, _records = verdict_of(tmp_path, criterion, results)
    assert verdict == "FAIL"


@pytest.mark.parametrize("criterion", ["contract.conformance", "contract.http_compliance", "security.auth_enforced"])
def test_wrong_credentials_decide_nothing(capture_stub, tmp_path, criterion):
    """Every correct request is refused: no refusal proves anything (a failed positive control), and no
    protected operation's own answer was ever checked (only 401s came back), so nothing there is PASS."""
    url, _headers, _token = capture_stub()
    results = CHECKS[criterion](url, {"Authorization": "Bearer not-the-token"})
    undecided = {r.name for r in results if hasattr(r, "reason")}
    if criterion == "contract.conformance":
        assert undecided == {"GET /status conforms", "POST /captures conforms", "GET /captures/{capture_id} conforms"}
        assert all("no request was answered with a 2xx" in r.reason for r in results if hasattr(r, "reason"))
    elif criterion == "security.auth_enforced":    # no API key known either: those rows have no control
        assert undecided == {r.name for r in results}
        assert all("positive control did not succeed" in r.reason or "no valid API key of the stack is known"
                   in r.reason for r in results)
    else:                   # the body and Accept probes need a request that is taken; routing needs none
        assert {"POST /captures with malformed JSON answers 400 with its documented error body",
                "POST /captures with a text/plain body answers 415",
                "GET /status with Accept: application/xml answers 406 or a documented type"} <= undecided
    verdict, _records = verdict_of(tmp_path, criterion, results)
    assert verdict == "NOT VERIFIED"


def test_links_are_followed_so_an_operation_on_a_created_resource_is_checked(capture_stub):
    url, headers, _token = capture_stub()
    found = {r.name: r for r in conformance(SPEC, url, headers, examples=5)}
    fetched = found["GET /captures/{capture_id} conforms"]
    assert fetched.passed and fetched.details["statuses"].get(200, 0) >= 1, fetched.details


@pytest.mark.parametrize("criterion", ["contract.conformance", "contract.fuzz_robustness"])
def test_a_service_that_never_answers_is_not_verified(capture_stub, tmp_path, criterion):
    url, headers, _token = capture_stub()
    dead = url.rsplit(":", 1)[0] + ":9"                # the discard port: nothing listens there
    results = CHECKS[criterion](dead, headers)
    assert results and not [r for r in results if hasattr(r, "passed")], results
    verdict, _records = verdict_of(tmp_path, criterion, results)
    assert verdict == "NOT VERIFIED"


ROLES = ("viewer", "operator", "admin")


@pytest.mark.parametrize("fault", [None, "role_bypass"])
def test_each_role_below_the_least_role_is_refused_and_each_above_answered(capture_stub, tmp_path, fault):
    """POST /captures lists `operator` as its least role: a viewer's token must get the documented 403 (under
    the control of the valid request being answered), operator and admin an answer; GET /status admits all."""
    from ivv.rpc.auth import claims, sign

    url, headers, _token, secret, keys = capture_stub(fault, with_secret=True)
    results = auth_matrix(SPEC, url, headers, jwt_secret=secret, roles=ROLES,
                          token_for=lambda role: sign(claims(role, f"ivv-{role}"), secret), key_for=keys.get,
                          revoked_key=keys["revoked"])
    by_name = {r.name: r for r in results}
    viewer = by_name["POST /captures as viewer is refused"]
    for name in ("POST /captures as operator is answered", "POST /captures as admin is answered",
                 *(f"GET /status as {role} is answered" for role in ROLES)):
        assert by_name[name].passed, (name, by_name[name].observed)
    verdict, _records = verdict_of(tmp_path, "security.auth_enforced", results)
    if fault is None:
        assert viewer.passed and viewer.observed == 403 and verdict == "PASS"
    else:
        assert not viewer.passed and viewer.observed == 201 and verdict == "FAIL"
        assert "POST" in viewer.exchanges[0]["sent"] and secret not in viewer.transcript()


PLACES = {"GET /status": "query api_key", "POST /captures": "header X-API-Key",
          "GET /captures/{capture_id}": "cookie capture_key"}


@pytest.mark.parametrize("fault", [None, "key_bypass", "revoked_key"])
def test_api_keys_are_checked_in_every_place_the_spec_puts_them(capture_stub, tmp_path, fault):
    """Each operation takes a bearer token or an API key, the key in the query, a header or a cookie: a
    forged and the revoked key must get the documented refusal in each place (under the control of the
    admin's key in the same place answered), a viewer's key on the capture the documented 403."""
    from ivv.rpc.auth import Credentials

    url, headers, _token, secret, keys = capture_stub(fault, with_secret=True)
    creds = Credentials(secret, {r: keys[r] for r in ROLES}, keys["revoked"], roles=ROLES)   # registers the keys
    results = auth_matrix(SPEC, url, headers, jwt_secret=secret, roles=ROLES, token_for=creds.token,
                          key_for=creds.api_keys.get, revoked_key=creds.revoked_api_key)
    by_name = {r.name: r for r in results}
    for op, place in PLACES.items():
        forged = by_name[f"{op} with a forged API key ({place}) is refused"]
        revoked = by_name[f"{op} with the revoked API key ({place}) is refused"]
        assert by_name[f"{op} with the admin API key ({place}) is answered"].passed, op
        assert forged.details["control"] == f"control: {op} with the admin API key ({place}) is answered"
        assert forged.passed is (fault != "key_bypass") and revoked.passed is (fault is None), (op, fault)
        if not revoked.passed:
            assert revoked.observed not in (401, 403) and place.split()[1] in revoked.exchanges[0]["sent"]
    viewer = by_name["POST /captures with the viewer API key (header X-API-Key) is refused"]
    assert viewer.passed is (fault != "key_bypass") and (viewer.observed == 403 or fault == "key_bypass")
    assert by_name["POST /captures with the operator API key (header X-API-Key) is answered"].passed
    assert all(by_name[f"GET /status with the {role} API key (query api_key) is answered"].passed for role in ROLES)
    text = "".join(r.transcript() for r in results if hasattr(r, "transcript"))
    assert not [role for role, key in keys.items() if key in text], "an API key reached the evidence"
    verdict, _records = verdict_of(tmp_path, "security.auth_enforced", results)
    assert verdict == ("PASS" if fault is None else "FAIL")


def test_where_each_scheme_puts_its_credential_and_what_ivv_cannot_present():
    from ivv.security.openapi_auth import Place, place_of, stripped

    raw = {"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}, "oidc": {"type": "openIdConnect"},
        "q": {"type": "apiKey", "in": "query", "name": "key"}, "c": {"type": "apiKey", "in": "cookie", "name": "k"},
        "basic": {"type": "http", "scheme": "basic"}, "mtls": {"type": "mutualTLS"}}}}
    assert place_of(raw, "oidc") == Place("oidc", "header", "Authorization", True)
    assert place_of(raw, "bearer") == Place("bearer", "header", "Authorization", True)
    assert place_of(raw, "q") == Place("q", "query", "key", False)
    assert "'basic' (http basic) is not one ivv can present" in place_of(raw, "basic")
    assert "'mtls' (mutualTLS) is not one ivv can present" in place_of(raw, "mtls")
    assert "'nope' is not in components.securitySchemes" in place_of(raw, "nope")
    sent = {"headers": {"authorization": "Bearer x", "Accept": "*/*"}, "params": {"key": "generated", "n": 1},
            "cookies": {"k": "generated"}}
    places = [place_of(raw, n) for n in ("bearer", "q", "c")]
    assert stripped(sent, places) == {"headers": {"Accept": "*/*"}, "params": {"n": 1}, "cookies": {}}
    assert places[2].put({"cookies": None}, "v") == {"cookies": {"k": "v"}}
    assert places[0].put({"headers": {}}, "t") == {"headers": {"Authorization": "Bearer t"}}


def test_a_bare_request_is_controlled_by_whichever_credential_was_answered(capture_stub):
    """A wrong bearer token fails the token rows' control, but the admin's API key is answered: the request
    without any credential is still decided, under the key's control (not left undecided)."""
    url, _headers, _token, _secret, keys = capture_stub(with_secret=True)
    by_name = {r.name: r for r in keyed_auth_matrix(url, {"Authorization": "Bearer not-the-token"}, keys)}
    bare = by_name["GET /status with no credentials is refused"]
    assert bare.passed and bare.details["control"] == "control: GET /status with the admin API key (query api_key) is answered"
    assert hasattr(by_name["GET /status with an alg-none token is refused"], "reason")   # the token control failed


@pytest.mark.parametrize("fault, leak", [
    (None, None),
    ("connection_auth", "GET /status with no credentials on the admin client's keep-alive connection was answered 200"),
    ("last_token_wins", "GET /status with no credentials, after the admin token on another client was answered 200"),
])
def test_session_isolation_over_http(capture_stub, tmp_path, fault, leak):
    """Clients with the admin's, the viewer's and no token take turns: clean, nothing leaks (PASS, with the
    viewer's refusal on POST /captures as the role check); a role remembered per keep-alive connection, or
    the last valid token's role given to any bare request, FAILs with the request that showed it."""
    from ivv.rpc.auth import claims, sign
    from ivv.security.openapi_sessions import isolation_probe

    url, _headers, _token, secret, _keys = capture_stub(fault, with_secret=True)
    fact = isolation_probe(SPEC, url, ROLES, lambda role: sign(claims(role, f"ivv-{role}"), secret))
    verdict, _records = verdict_of(tmp_path, "security.session_isolation", [fact])
    if fault is None:
        assert fact.passed and verdict == "PASS", fact.observed
        assert not fact.details.get("notes") and len(fact.exchanges) >= 10, fact.details
    else:
        assert not fact.passed and leak in fact.observed and verdict == "FAIL", fact.observed
    assert secret not in fact.transcript() and "eyJ" not in fact.transcript()


def test_session_isolation_needs_its_controls(capture_stub):
    """Tokens the stub does not know: the valid tokens' own requests are refused, so the probe decides
    nothing. A stub that answers GET /status without a token (auth_bypass) has the probe use an operation
    that refuses one (a capture's record: its 404s, past the credential check, are answers); one that lets
    a viewer capture (role_bypass) leaves the role checks out, noted, and still PASSes the rest: both are
    security.auth_enforced's FAILs, not leaks between clients."""
    from ivv.rpc.auth import claims, sign
    from ivv.security.openapi_sessions import isolation_probe

    url, _headers, _token = capture_stub()
    fact = isolation_probe(SPEC, url, ROLES, lambda role: sign(claims(role, f"ivv-{role}"), "not-the-secret"))
    assert fact.verdict == "NOT VERIFIED" and "control failed" in fact.reason, fact
    for fault in ("auth_bypass", "role_bypass"):
        url, _headers, _token, secret, _keys = capture_stub(fault, with_secret=True)
        fact = isolation_probe(SPEC, url, ROLES, lambda role, s=secret: sign(claims(role, f"ivv-{role}"), s))
        assert fact.verdict == "PASS", (fault, fact)
        notes = " ".join(fact.details.get("notes", ()))
        assert ("no role check" in notes) == (fault == "role_bypass"), (fault, notes)


def test_rest_checks_over_https_verify_the_certificate_as_the_api_says(capture_stub, tmp_path):
    """The stub over HTTPS with a certificate from a CA made for the test: trusting that CA (the API's
    ca_file) every REST check decides as over HTTP; the system store alone (a certificate nobody trusts)
    answers nothing, so conformance is NOT VERIFIED (no answer), never a PASS; no verification (a device's
    own certificate, left to the transport check) decides too. The http protocol takes which from the API."""
    from types import SimpleNamespace

    from ivv.protocols.http import Http
    from ivv.rpc.auth import claims, sign
    from ivv.rpc.tls import LabCa
    from ivv.security.openapi_sessions import isolation_probe

    lab = LabCa(tmp_path)
    url, headers, _token, secret, _keys = capture_stub(tls=lab.write_pair("127.0.0.1"), with_secret=True)
    assert url.startswith("https://")
    ca = str(lab.ca_file)
    for verify in (ca, False):
        found = conformance(SPEC, url, headers, examples=2, verify=verify)
        assert all(getattr(r, "passed", False) for r in found), (verify, found)
    for found in (http_compliance(SPEC, url, headers, verify=ca), auth_matrix(SPEC, url, headers, jwt_secret=secret,
                                                                              verify=ca)):
        assert not failed(found) and sum(getattr(r, "passed", False) for r in found) >= 5, found
    assert isolation_probe(SPEC, url, ROLES, lambda role: sign(claims(role, f"ivv-{role}"), secret), verify=ca).passed
    untrusted = conformance(SPEC, url, headers, examples=2, verify=True)
    verdict, _records = verdict_of(tmp_path, "contract.conformance", untrusted)
    assert verdict == "NOT VERIFIED" and "SSLError" in str([r.reason for r in untrusted]), untrusted

    def http(**api):
        stack = SimpleNamespace(api=SimpleNamespace(url=url, **api))
        return Http(stack, lambda _name, default: default).verify
    assert http(verify_tls=True, ca_file=ca) == ca and http(verify_tls=True, ca_file=None) is True
    assert http(verify_tls=False, ca_file=ca) is False
