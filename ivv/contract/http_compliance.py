"""HTTP compliance of a REST API, the counterpart of the JSON-RPC compliance matrix (`contract.http_compliance`):
an unknown route answers 404, a method the route does not document 405 with an Allow header naming the
ones it does, a malformed JSON body 400 with the error body the spec documents, a body in a media type the
operation does not take 415, and an Accept header the operation cannot satisfy 406 or a documented type.

Every probe has its positive control: the same route or operation called correctly must be answered
(not 404 / 405 / 4xx), else the probe proves nothing and is `Undecided`. Probes use routes without path
parameters, and request bodies from one valid request schemathesis generates for the operation (or,
where the spec links an operation's success answer into it, the body that link gives: a real id).
"""

from __future__ import annotations

import random
import secrets

import hypothesis
import requests
from hypothesis.errors import HypothesisException
from schemathesis.generation import GenerationMode

from ivv.contract.openapi import FAILURES, link_value, operations, send
from ivv.evidence.facts import Fact, Undecided, controlled

CRITERION = "contract.http_compliance"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

def _call(session: requests.Session, method: str, url: str, timeout: float, **kwargs):
    return send(session, {"method": method, "url": url, **kwargs}, timeout)

def _control(name: str, response, exchange, refused: tuple[int, ...] = (), taken: bool = False) -> Fact:
    """A positive control: answered, not with a status in `refused`, never 5xx; with `taken`, a 2xx."""
    if response is None:
        return Fact(name, False, "answered", exchange)
    status = response.status_code
    ok = 200 <= status < 300 if taken else status not in refused and status < 500
    expected = "a 2xx" if taken else f"answered, not {', '.join(map(str, refused))} and not 5xx"
    return Fact(name, ok, expected, status, exchanges=(exchange,))

def _probe(name: str, response, exchange, expected: str, passed) -> Fact:
    if response is None:
        return Fact(name, False, expected, exchange)
    seen = f"{response.status_code} {response.headers.get('Content-Type', '')}".strip()
    if response.status_code == 405:
        seen += f", Allow: {response.headers.get('Allow', '(none)')}"
    return Fact(name, bool(passed(response)), expected, seen, exchanges=(exchange,))

def plain(operation) -> bool:
    """An operation with no path parameters: its URL is known without generating anything."""
    return "{" not in operation.path

def one_valid_case(operation, seed: int = 0):
    """The simplest request the spec allows for `operation` (None when none can be generated)."""
    try:
        return hypothesis.find(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), lambda _case: True,
                               settings=hypothesis.settings(database=None, max_examples=20, deadline=None,
                                                            suppress_health_check=list(hypothesis.HealthCheck)),
                               random=random.Random(seed))
    except HypothesisException:
        return None

def linked_body(session, base_url: str, ops, target, headers: dict, timeout: float, seed: int):
    """A valid body for `target` taken from a link the spec declares into it (`requestBody` of a link on a
    success answer of a plain JSON operation): the source called once with a valid request, its answer's
    values put in. None when no link leads there or the source was not answered with that success. The
    positive control of an operation on an existing resource (a transfer of a capture) needs a real id."""

    target_id = target.definition.raw.get("operationId")
    for source in json_operations(ops):
        for status, answer in (source.definition.raw.get("responses") or {}).items():
            links = [link for link in ((answer or {}).get("links") or {}).values()
                     if link.get("operationId") == target_id and "requestBody" in link]
            case = one_valid_case(source, seed) if links else None
            if case is None:
                continue
            response, _exchange = _call(session, source.method.upper(), base_url.rstrip("/") + source.path, timeout,
                                        headers=headers, json=case.body)
            if response is not None and str(response.status_code) == str(status):
                return link_value(links[0]["requestBody"], response)
    return None

def json_operations(ops) -> list:
    return [op for op in ops if plain(op) and "application/json" in
            ((op.definition.raw.get("requestBody") or {}).get("content") or {})]

def unknown_route(session, base_url: str, ops, headers: dict, timeout: float) -> Fact | Undecided:
    url = f"{base_url.rstrip('/')}/ivv-no-such-route-{secrets.token_hex(4)}"
    probe = _probe("an unknown route answers 404", *_call(session, "GET", url, timeout, headers=headers),
                   "404", lambda r: r.status_code == 404)
    known = [op for op in ops if plain(op) and op.method.upper() == "GET"]
    if not known:
        return Undecided(probe.name, "no GET route without path parameters to control it with")
    control = _control(f"control: GET {known[0].path} is routed",
                       *_call(session, "GET", base_url.rstrip("/") + known[0].path, timeout, headers=headers), (404,))
    return controlled(probe, control)

def wrong_methods(session, base_url: str, ops, headers: dict, timeout: float) -> list[Fact | Undecided]:
    by_path: dict[str, list[str]] = {}
    for op in ops:
        if plain(op):
            by_path.setdefault(op.path, []).append(op.method.upper())
    out = []
    for path, documented in sorted(by_path.items()):
        wrong = next(m for m in ("DELETE", "PUT", "PATCH", "POST", "GET") if m not in documented)
        url = base_url.rstrip("/") + path

        def allow_names_documented(response, documented=documented, wrong=wrong):
            allow = {m.strip().upper() for m in response.headers.get("Allow", "").split(",") if m.strip()}
            return response.status_code == 405 and set(documented) <= allow and wrong not in allow

        probe = _probe(f"{wrong} {path} answers 405 with Allow: {', '.join(documented)}",
                       *_call(session, wrong, url, timeout, headers=headers), f"405, Allow: {', '.join(documented)}",
                       allow_names_documented)
        control_method = "GET" if "GET" in documented else documented[0]
        control = _control(f"control: {control_method} {path} is allowed",
                           *_call(session, control_method, url, timeout, headers=headers,
                                  **({"json": {}} if control_method != "GET" else {})), (404, 405))
        out.append(controlled(probe, control))
    return out

def body_probes(session, base_url: str, ops, headers: dict, timeout: float, seed: int) -> list[Fact | Undecided]:
    """Malformed JSON (400, documented error body) and a wrong media type (415), per JSON operation."""
    out = []
    for op in json_operations(ops):
        url, method = base_url.rstrip("/") + op.path, op.method.upper()
        linked = linked_body(session, base_url, ops, op, headers, timeout, seed)
        case = one_valid_case(op, seed)
        names = (f"{method} {op.path} with malformed JSON answers 400 with its documented error body",
                 f"{method} {op.path} with a text/plain body answers 415")
        if case is None:
            out += [Undecided(n, "no valid request can be generated for its positive control") for n in names]
            continue
        control = _control(f"control: {method} {op.path} with a valid body is taken",
                           *_call(session, method, url, timeout, headers=headers,
                                  json=case.body if linked is None else linked), taken=True)

        def documented_400(response, op=op):
            if response.status_code != 400 or "400" not in op.responses.status_codes:
                return False
            try:
                op.validate_response(response)
            except FAILURES:
                return False
            return True

        malformed = _probe(names[0], *_call(session, method, url, timeout, data=b'{"', headers={
            **headers, "Content-Type": "application/json"}), "400 and a body the spec documents for 400",
            documented_400)
        media = _probe(names[1], *_call(session, method, url, timeout, data=b"label", headers={
            **headers, "Content-Type": "text/plain"}), "415", lambda r: r.status_code == 415)
        out += [controlled(malformed, control), controlled(media, control)]
    return out

def negotiation(session, base_url: str, ops, headers: dict, timeout: float) -> list[Fact | Undecided]:
    """An Accept the operation cannot satisfy: 406, or an answer in a type the spec documents for it."""
    out = []
    for op in ops:
        if not plain(op) or op.method.upper() != "GET":
            continue
        documented = {media for status in (op.definition.raw.get("responses") or {}).values()
                      for media in ((status or {}).get("content") or {})}
        url = base_url.rstrip("/") + op.path

        def honest(response, documented=documented):
            media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            return response.status_code == 406 or media in documented

        probe = _probe(f"GET {op.path} with Accept: application/xml answers 406 or a documented type",
                       *_call(session, "GET", url, timeout, headers={**headers, "Accept": "application/xml"}),
                       f"406 or one of {sorted(documented)}", honest)
        control = _control(f"control: GET {op.path} with Accept: application/json",
                           *_call(session, "GET", url, timeout, headers={**headers, "Accept": "application/json"}),
                           taken=True)
        out.append(controlled(probe, control))
    return out

def http_compliance(spec, base_url: str, headers: dict | None = None, timeout: float = 10.0,
                    seed: int = 0, verify: bool | str = True) -> list[Fact | Undecided]:
    """Every probe above against the API at `base_url`, each fact for `contract.http_compliance`
    (`verify`: requests' TLS verification, True, False or a CA file)."""
    ops, headers = operations(spec), dict(headers or {})
    with requests.Session() as session:
        session.verify = verify
        found = [unknown_route(session, base_url, ops, headers, timeout),
                 *wrong_methods(session, base_url, ops, headers, timeout),
                 *body_probes(session, base_url, ops, headers, timeout, seed),
                 *negotiation(session, base_url, ops, headers, timeout)]
    return found
