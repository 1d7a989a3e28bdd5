"""File routes refuse path traversal, in the raw and encoded forms that slip past naive checks.

Requests are written with `http.client` so the path goes on the wire exactly as given (no client-side
normalisation of `..` or re-encoding). Each request carries a valid credential, so a refusal is the
route's doing, not the login's. Each route has its control: a file the service listed, downloaded on the
same route with the same credential, must succeed, or the route's refusals prove nothing (NOT VERIFIED).
A refusal is 400, 403 or 404; a connection error is not one, nor a 401 (the credential, not the name, was
refused) or a server error.
"""

from __future__ import annotations

import http.client
from dataclasses import replace
from urllib.parse import urlsplit

from ivv.contract.probe import produce
from ivv.evidence.facts import Fact, Undecided, controlled
from ivv.security.surface import PATH_TRAVERSAL

DEPTH = 12  # more `..` than any data directory is deep
TARGET = "etc/passwd"
CANARY = "root:"  # first field of /etc/passwd's first line on every Linux
REFUSED_STATUSES = (400, 403, 404)  # the route refused the name (bad name, forbidden, no such file)


def variants(depth: int = DEPTH, target: str = TARGET) -> dict[str, str]:
    """Traversal spellings (name -> path suffix) for `target` relative to the file root."""
    encoded_target = target.replace("/", "%2f")
    return {
        "plain ../": "../" * depth + target,
        "encoded slash ..%2f": "..%2f" * depth + encoded_target,
        "encoded dots %2e%2e/": "%2e%2e/" * depth + target,
        "all encoded %2e%2e%2f": "%2e%2e%2f" * depth + encoded_target,
        "double encoded %252e%252e%252f": "%252e%252e%252f" * depth + target.replace("/", "%252f"),
        "backslash ..%5c": "..%5c" * depth + target.replace("/", "%5c"),
        "nested ....//": "....//" * depth + target,
        "absolute %2f": "%2f" + encoded_target,
        "overlong UTF-8 %c0%ae": "%c0%ae%c0%ae%c0%af" * depth + target,
        "null byte": "..%2f" * depth + encoded_target + "%00.jpg",
    }


def fetch(base_url: str, path: str, headers: dict, timeout: float) -> tuple[int, bytes]:
    parts = urlsplit(base_url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()
        answer = conn.getresponse()
        return answer.status, answer.read(64 * 1024)
    finally:
        conn.close()


def _get(base_url: str, path: str, headers: dict, timeout: float) -> tuple[int | None, bytes, str]:
    """(status, body, error): status None when the request got no answer at all."""
    try:
        status, body = fetch(base_url, path, headers, timeout)
        return status, body, ""
    except (OSError, http.client.HTTPException) as exc:
        return None, b"", type(exc).__name__


def route_probe(base_url: str, route: str, headers: dict, control: str | None,
                timeout: float = 5.0) -> Fact | Undecided:
    """Every traversal spelling on one route, under its control (a file the service listed, downloaded on
    the same route with the same credential). A refusal is 400, 403 or 404; a connection error is no
    refusal, nor a 401 or a 5xx."""
    name = f"{route} refuses path traversal"
    lines = []
    if control is None:
        return Undecided(name, "no file the service lists was found for this route, so there is no control "
                               "download and refusals prove nothing", criterion=PATH_TRAVERSAL)
    status, _, error = _get(base_url, route + control, headers, timeout)
    lines.append(f"GET {route}{control} -> {status or error} (control: a listed file)")
    control_ok = status is not None and 200 <= status < 300
    served, wrong, silent = [], [], []
    for label, suffix in variants().items():
        path = route + suffix
        status, body, error = _get(base_url, path, headers, timeout)
        leaked = CANARY.encode() in body[:4096]
        lines.append(f"GET {path} -> {status or error} {len(body)} bytes"
                     f"{' CONTAINS /etc/passwd' if leaked else ''} ({label})")
        if status is None:
            silent.append(label)
        elif (200 <= status < 300) or leaked:
            served.append(f"{label} on {route}: {status}")
        elif status not in REFUSED_STATUSES:
            wrong.append(f"{label}: {status}")
    exchange = "\n".join(lines) + "\n"
    if served:
        return Fact(name, False, "400, 403 or 404 for every traversal spelling", "served: " + "; ".join(served),
                    exchanges=(exchange,), details={"served": served}, criterion=PATH_TRAVERSAL)
    fact = Fact(name, not wrong and not silent, "400, 403 or 404 for every traversal spelling",
                "; ".join(filter(None, [f"not a refusal: {', '.join(wrong)}" if wrong else "",
                                        f"no answer: {', '.join(silent)}" if silent else ""]))
                or f"{len(variants())} traversal requests all refused", exchanges=(exchange,),
                details={"served": served}, criterion=PATH_TRAVERSAL)
    fact = controlled(fact, Fact(f"{route}{control} downloads (control)", control_ok, "2xx", lines[0]))
    if isinstance(fact, Fact) and silent and not wrong:
        fact = Undecided(name, f"{len(silent)} of {len(variants())} requests got no answer (a connection error "
                               "is not a refusal)", criterion=PATH_TRAVERSAL)
    return fact


def traversal_probe(base_url: str, routes: list[str], headers: dict, describe_headers: str,
                    controls: dict[str, str | None], timeout: float = 5.0) -> list[Fact | Undecided]:
    """`routes` are path prefixes such as `/files/snapshots/`; `controls` maps each to a listed file name."""
    if not routes:
        return [Undecided("file routes refuse path traversal", "the profile names no file route",
                          criterion=PATH_TRAVERSAL)]
    out = []
    for route in routes:
        fact = route_probe(base_url, route, headers, controls.get(route), timeout)
        if isinstance(fact, Fact) and fact.exchanges:
            fact = replace(fact, exchanges=(f"# every request carries {describe_headers}\n" + fact.exchanges[0],))
        out.append(fact)
    return out


def control_files(surface, routes: list[str]) -> dict[str, str | None]:
    """A file the service itself lists for each route: one of each thing is made first (take_*,
    start_*/stop_*), then a `download_url` the service returned under the route gives the name, else a
    file-name value returned by a method sharing the route's words (snapshots ~ list_snapshots)."""
    probe = surface.probe
    produce(probe)
    observed = probe.observed
    out = {}
    for route in routes:
        urls = [v for values in observed.sources.get("download_url", {}).values() for v in values if isinstance(v, str)]
        found = next((u[len(route):] for u in urls if u.startswith(route) and len(u) > len(route)), None)
        if found is None:
            method = "list_" + "_".join(part for part in route.strip("/").split("/")[1:] if part) or "list"
            found = next((v for key in ("filename", "file_name", "name", "file")
                          for v in observed.value_for(key, method) if isinstance(v, str) and v), None)
        out[route] = found
    return out
