"""OpenAPI conformance on schemathesis: every operation called with valid generated requests, each answer
checked against the spec (documented status code, content type, required headers, response schema, no
server error), one fact per operation.

schemathesis generates the requests (hypothesis underneath, positive data only: a request the spec
allows) and judges the answers with its own checks; ivv keeps what a reviewer needs: per operation the
cases sent, and for a failing one the minimal failing exchange (hypothesis shrinks it; the last failure
seen is the minimal one) with secrets masked. An operation nobody could call (no answer, nothing
generated) is `Undecided`, never a pass.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import hypothesis
import requests
import schemathesis
import yaml
from hypothesis.errors import HypothesisException, Unsatisfiable
from schemathesis import checks as st_checks
from schemathesis.generation import GenerationMode

from ivv.errors import ProfileError
from ivv.evidence import redact
from ivv.evidence.facts import Fact, Undecided

FAILURES = (AssertionError, st_checks.Failure, st_checks.FailureGroup)
CHECKS = (st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
          st_checks.response_headers_conformance, st_checks.response_schema_conformance)
FUZZ_CHECKS = (st_checks.not_a_server_error, st_checks.negative_data_rejection)
EXPECTED = "documented status code, content type, headers and body schema for requests the spec allows"
FUZZ_EXPECTED = "a 4xx rejection (never a 5xx or an acceptance) for requests the spec does not allow"
SECRET_HEADERS = ("authorization", "cookie", "x-api-key", "set-cookie")


def load_spec(path: str | Path):
    """The OpenAPI document at `path` as a schemathesis schema (a clear error naming the file otherwise)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read the OpenAPI document: {exc}") from exc
    if not isinstance(raw, dict) or "openapi" not in raw or "paths" not in raw:
        raise ProfileError(f"{path}: not an OpenAPI 3 document (needs 'openapi' and 'paths')")
    return schemathesis.openapi.from_dict(raw)


@dataclass
class OperationRun:
    """What happened to one operation: cases sent, answers seen, and the minimal failure if any."""

    label: str
    cases: int = 0
    answered: int = 0
    failure: str | None = None
    exchange: dict | None = None
    errors: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    last_success: requests.Response | None = None    # the last 2xx answer: where the spec's links start

    def answer(self, response: requests.Response) -> None:
        self.answered += 1
        self.statuses[response.status_code] += 1
        if 200 <= response.status_code < 300:
            self.last_success = response

    def fail(self, exc: BaseException, response: requests.Response, started: float) -> None:
        self.failure = _failure_text(exc)
        self.exchange = exchange_of(response, (time.perf_counter() - started) * 1000)

    def judged(self, minimum: int, expected: str, what: str = "conforms",
               need_success: bool = False) -> Fact | Undecided:
        """With `need_success`, an operation never answered with a 2xx is undecided: answers that were all
        refusals (a 401 of wrong credentials, a 404 of an id that does not exist) check the error path
        only, never the operation's own answer."""
        name = f"{self.label} {what}"
        seen = ", ".join(f"{code} x{n}" for code, n in sorted(self.statuses.items()))
        details = {"cases": self.cases, "answered": self.answered, "statuses": dict(self.statuses)}
        if self.failure is not None:
            return Fact(name, False, expected, self.failure, exchanges=(self.exchange,) if self.exchange else (),
                        details=details)
        if self.answered < minimum:
            reason = f"{self.answered} of {self.cases} generated requests answered (at least {minimum} needed)"
            if self.errors:
                reason += f": {self.errors[-1]}"
            return Undecided(name, reason, details=details)
        if need_success and not any(200 <= code < 300 for code in self.statuses):
            return Undecided(name, f"no request was answered with a 2xx (answers: {seen}), so its success answer "
                             "was never checked", details=details)
        return Fact(name, True, expected, f"{self.answered} requests ({seen}), every answer as expected",
                    details=details)


def _masked_headers(headers) -> dict:
    """Secret headers masked; a Cookie header keeps its cookie names (which cookie carried a key is evidence)."""
    def masked(name: str, value: str) -> str:
        if name.lower() == "cookie":
            return "; ".join(f"{part.split('=', 1)[0].strip()}={redact.MASK}" for part in value.split(";") if part.strip())
        return redact.MASK if name.lower() in SECRET_HEADERS else value
    return {k: masked(k, v) for k, v in dict(headers or {}).items()}


def exchange_of(response: requests.Response, elapsed_ms: float) -> dict:
    """One request and its answer in the shape `Fact.transcript` prints, secrets masked."""
    request = response.request
    body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else (request.body or "")
    sent = f"{request.method} {request.url} {json.dumps(_masked_headers(request.headers))} {body}".rstrip()
    received = f"{response.status_code} {json.dumps(_masked_headers(response.headers))} {response.text[:2000]}"
    return {"sent": redact.redact(sent), "received": [redact.redact(received)], "outcome": "answered",
            "elapsed_ms": round(elapsed_ms, 1)}


def send(session: requests.Session, kwargs: dict, timeout: float):
    """One request outside schemathesis (requests' keyword arguments); (response, exchange), or (None, why
    nothing answered). The session's TLS verification is said per request: requests lets
    REQUESTS_CA_BUNDLE override a session's own."""
    started = time.perf_counter()
    try:
        response = session.request(**{"verify": session.verify, **kwargs}, timeout=timeout)
    except requests.RequestException as exc:
        return None, f"no answer: {type(exc).__name__}: {str(exc)[:200]}"
    return response, exchange_of(response, (time.perf_counter() - started) * 1000)


def _failure_text(exc: BaseException) -> str:
    failures = getattr(exc, "exceptions", None) or [exc]
    return "; ".join(f"{getattr(f, 'title', type(f).__name__)}: {str(getattr(f, 'message', f)).strip()[:400]}"
                     for f in failures)


def send_case(run: OperationRun, case, session, base_url: str, headers: dict, timeout: float, checks=CHECKS,
              context: str = "", verify: bool | str = True) -> BaseException | None:
    """Send one generated case, count its answer in `run` and judge it; returns the check's failure
    (recorded in `run` as its minimal failing exchange), None when it passed or nothing answered."""
    run.cases += 1
    started = time.perf_counter()
    try:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=timeout, verify=verify)
    except requests.RequestException as exc:
        run.errors.append(f"{context}no answer: {type(exc).__name__}: {str(exc)[:200]}")
        return None
    run.answer(response)
    try:
        case.validate_response(response, checks=list(checks))
    except FAILURES as exc:
        run.fail(exc, response, started)
        return exc
    return None


def run_operation(operation, base_url: str, headers: dict, examples: int, seed: int,
                  mode: GenerationMode = GenerationMode.POSITIVE, checks=CHECKS,
                  timeout: float = 10.0, verify: bool | str = True) -> OperationRun:
    """Generate up to `examples` requests of `mode` for one operation, send each, check each answer."""
    run = OperationRun(operation.label)
    session = requests.Session()

    @hypothesis.settings(max_examples=examples, database=None, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck),
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink])
    @hypothesis.seed(seed)
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        failure = send_case(run, case, session, base_url, headers, timeout, checks, verify=verify)
        if failure is not None:
            raise failure

    try:
        check()
    except FAILURES:
        pass                               # recorded above: the last failure is the shrunk, minimal one
    except Unsatisfiable:
        run.errors.append(f"no {mode.value} request can be generated for it (the spec leaves nothing to vary)")
    except HypothesisException as exc:
        run.errors.append(f"{type(exc).__name__}: {str(exc).strip()[:300]}")
    finally:
        session.close()
    return run


def stateful(schema, runs: dict[str, OperationRun], base_url: str, headers: dict, examples: int,
             timeout: float = 10.0, verify: bool | str = True) -> None:
    """Follow the spec's links (declared, or inferred by schemathesis from Location headers and the like):
    a capture made by POST is then fetched by its id, so an operation needing a real id is answered with a
    2xx too. Answers and failures are added to each operation's run. The walk is derandomized: the same
    spec gives the same walk."""
    machine = schema.as_state_machine()
    if not getattr(machine, "bundles", None) and not getattr(machine, "_transitions", None):
        return

    class Walk(machine):
        def get_call_kwargs(self, case):
            return {"base_url": base_url, "headers": headers, "timeout": timeout, "verify": verify}

        def validate_response(self, response, case, additional_checks=None, **_kwargs):
            run = runs.setdefault(case.operation.label, OperationRun(case.operation.label))
            run.cases += 1
            run.answer(response)
            try:
                case.validate_response(response, checks=list(CHECKS))
            except FAILURES as exc:
                run.fail(exc, response, time.perf_counter())
                raise

    try:
        Walk.run(settings=hypothesis.settings(max_examples=examples, stateful_step_count=4, database=None,
                                              deadline=None, suppress_health_check=list(hypothesis.HealthCheck),
                                              derandomize=True))
    except FAILURES:
        pass                      # recorded in the operation's run
    except (requests.RequestException, HypothesisException) as exc:
        for run in runs.values():
            run.errors.append(f"following links: {type(exc).__name__}: {str(exc)[:200]}")


def link_value(expression, response: requests.Response):
    """A runtime expression of a link (`$response.body#/id`, `$response.header.Location`) on one answer;
    a nested object has each value resolved; a constant stays as written. None when it names nothing."""
    if isinstance(expression, dict):
        return {key: link_value(value, response) for key, value in expression.items()}
    if not isinstance(expression, str) or not expression.startswith("$response."):
        return expression
    if expression.startswith("$response.header."):
        return response.headers.get(expression.removeprefix("$response.header."))
    if expression.startswith("$response.body"):
        try:
            value = response.json()
        except ValueError:
            return None
        pointer = expression.removeprefix("$response.body").removeprefix("#")
        for part in [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/") if p]:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return None
        return value
    return None


def follow_links(schema, runs: dict[str, OperationRun], base_url: str, headers: dict, timeout: float = 10.0,
                 verify: bool | str = True) -> None:
    """Each link the spec declares on a success answer, followed once from that operation's last 2xx
    answer: the linked operation called with the values the answer gave (its id, say) and judged like
    any other request. Deterministic, one request per link, so an operation on a created resource gets
    its success answer checked even when the random walk above never reached it."""
    ops = operations(schema)
    by_id = {op.definition.raw.get("operationId"): op for op in ops if op.definition.raw.get("operationId")}
    session = requests.Session()
    try:
        for op in ops:
            source = runs.get(op.label)
            if source is None or source.last_success is None:
                continue
            answer = op.definition.raw.get("responses", {}).get(str(source.last_success.status_code)) or {}
            for link in (answer.get("links") or {}).values():
                target = by_id.get(link.get("operationId"))
                if target is None:
                    continue
                values = {name: link_value(expr, source.last_success) for name, expr in (link.get("parameters") or {}).items()}
                body = link_value(link.get("requestBody"), source.last_success) if "requestBody" in link else None
                declared = {p["name"]: p.get("in") for p in target.definition.raw.get("parameters", [])}
                case = target.Case(
                    path_parameters={k: v for k, v in values.items() if declared.get(k) == "path"} or None,
                    query={k: v for k, v in values.items() if declared.get(k) == "query"} or None,
                    **({"body": body, "media_type": "application/json"} if body is not None else {}))
                send_case(runs.setdefault(target.label, OperationRun(target.label)), case, session, base_url,
                          headers, timeout, context="following a link: ", verify=verify)
    finally:
        session.close()


def schema_of(spec):
    return load_spec(spec) if isinstance(spec, (str, Path)) else spec


def operations(spec) -> list:
    """The spec's operations (a schemathesis schema or a path to the OpenAPI document)."""
    schema = schema_of(spec)
    out = []
    for result in schema.get_all_operations():
        try:
            out.append(result.ok())
        except Exception as exc:           # an operation the spec does not describe well enough to call
            raise ProfileError(f"an operation of the OpenAPI document cannot be generated: {exc}") from exc
    return out


def conformance(spec, base_url: str, headers: dict | None = None, examples: int = 5, seed: int = 0,
                minimum: int = 1, verify: bool | str = True) -> list[Fact | Undecided]:
    """One fact per operation: requests the spec allows are answered as the spec documents, with at least
    one 2xx among them (the spec's links are followed, so an operation on a created resource gets one)."""
    schema, headers = schema_of(spec), dict(headers or {})
    runs = {op.label: run_operation(op, base_url, headers, examples, seed, verify=verify) for op in operations(schema)}
    if runs and any(run.answered for run in runs.values()):
        stateful(schema, runs, base_url, headers, examples, verify=verify)
        follow_links(schema, runs, base_url, headers, verify=verify)
    found = [run.judged(minimum, EXPECTED, need_success=True) for run in runs.values()]
    return found or [Undecided("OpenAPI operations", "the document describes no operation")]


def fuzz(spec, base_url: str, headers: dict | None = None, examples: int = 10, seed: int = 0,
         minimum: int = 1, verify: bool | str = True) -> list[Fact | Undecided]:
    """One fact per operation: requests the spec forbids are rejected with a 4xx, never a server error.
    An operation with nothing to get wrong (no parameters, no body) has no invalid request and is left
    out (named in the facts' details); when no operation has one, the criterion is undecided."""
    runs = [run_operation(op, base_url, dict(headers or {}), examples, seed, GenerationMode.NEGATIVE, FUZZ_CHECKS,
                          verify=verify) for op in operations(spec)]
    nothing = [run.label for run in runs if run.cases == 0 and run.errors and run.errors[-1].startswith("no negative")]
    found = [run.judged(minimum, FUZZ_EXPECTED, "rejects invalid requests") for run in runs if run.label not in nothing]
    found = [replace(f, details={**f.details, "no invalid request exists for": nothing}) if nothing else f
             for f in found]
    return found or [Undecided("OpenAPI operations", "no operation has a request the spec forbids"
                               + (f" ({', '.join(nothing)})" if nothing else ""))]
