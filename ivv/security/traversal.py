"""File routes refuse path traversal, in the raw and encoded forms that slip past naive checks.

Requests are written with `http.client` so the path goes on the wire exactly as given (no client-side
normalisation of `..` or re-encoding). Each request carries a valid credential, so a refusal is the
route's doing, not the login's. A control download of a file the service listed shows the route works.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from ivv.evidence.facts import Fact, Undecided
from ivv.security.surface import PATH_TRAVERSAL

DEPTH = 12  # more `..` than any data directory is deep
TARGET = "etc/passwd"
CANARY = "root:"  # first field of /etc/passwd's first line on every Linux


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


def traversal_probe(base_url: str, routes: list[str], headers: dict, describe_headers: str,
                    control: tuple[str, str] | None = None, timeout: float = 5.0) -> Fact | Undecided:
    """`routes` are path prefixes such as `/files/snapshots/`; `control` is (route, existing file name)."""
    name = "file routes refuse path traversal"
    if not routes:
        return Undecided(name, "the profile names no file route", criterion=PATH_TRAVERSAL)
    lines = [f"# every request carries {describe_headers}"]
    served = []
    control_ok = None
    if control:
        route, filename = control
        status, _ = fetch(base_url, route + filename, headers, timeout)
        control_ok = 200 <= status < 300
        lines.append(f"GET {route}{filename} -> {status} (control: a listed file)")
    for route in routes:
        for label, suffix in variants().items():
            path = route + suffix
            try:
                status, body = fetch(base_url, path, headers, timeout)
            except (OSError, http.client.HTTPException) as exc:
                lines.append(f"GET {path} -> {type(exc).__name__} ({label})")
                continue
            leaked = CANARY.encode() in body[:4096]
            lines.append(f"GET {path} -> {status} {len(body)} bytes{' CONTAINS /etc/passwd' if leaked else ''}"
                         f" ({label})")
            if 200 <= status < 300 or leaked:
                served.append(f"{label} on {route}: {status}")
    if control is not None and not control_ok:
        return Undecided(name, "control failed: a file the service listed could not be downloaded, so refusals "
                               "prove nothing", criterion=PATH_TRAVERSAL)
    return Fact(name, not served, expected="4xx for every traversal spelling on every file route",
                observed="served: " + "; ".join(served) if served else
                f"{len(routes) * len(variants())} traversal requests all refused"
                + ("" if control else " (no control file was available)"),
                exchanges=("\n".join(lines) + "\n",), details={"served": served}, criterion=PATH_TRAVERSAL)


def control_file(surface, transcript, kind: str = "snapshots") -> str | None:
    """A file the service itself lists under `kind` (one snapshot is taken when none exists), or None."""
    lister, maker = f"list_{kind}", "take_snapshot"
    if lister not in surface.contract.methods:
        return None
    role = surface.roles[-1]
    token = surface.token(role)
    transcript.describe(token, f"<valid {role} credential>")
    with surface.connect("setup", transcript) as conn:
        conn.call(surface.auth_method, {surface.auth_param: token})
        files = (conn.call(lister).frame or {}).get("result") or {}
        names = [f.get("filename") for f in files.get("files", []) if isinstance(f, dict)]
        if not names and kind == "snapshots" and maker in surface.contract.methods:
            cameras = (conn.call("get_camera_list").frame or {}).get("result") or {}
            devices = [c.get("device") for c in cameras.get("cameras", []) if isinstance(c, dict)]
            if devices:
                made = (conn.call(maker, {"device": devices[0]}).frame or {}).get("result") or {}
                names = [made.get("filename")] if made.get("filename") else []
    return names[0] if names else None
