"""The protocol interface: what a suite may ask of a stack's API, whatever protocol it speaks.

A protocol names the URL schemes of its endpoint, opens a client, and runs the checks it *offers* (a
suite test marked `api_check(NAME)` is collected only for stacks whose protocol offers NAME: a check that
means nothing for a protocol, the JSON-RPC notifications on HTTP say, is not run, rather than run and
left undecided). Each check returns a `CheckResult`; `CheckResult.record` is the one way a suite writes
it as evidence, so a criterion is decided the same way over every protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from ivv.errors import ProfileError
from ivv.evidence.facts import Fact, Undecided, record

Row = Fact | Undecided
PROTOCOLS: dict[str, type[Protocol]] = {}
DEFAULT_KIND = "jsonrpc-ws"


@dataclass
class Matrix:
    """Rows judged one by one, written as one table (`ivv.contract.matrix.record_matrix`)."""

    title: str
    rows: list[Row]
    artifact: str
    columns: tuple[str, ...] = ("check", "expected", "observed", "verdict")
    grid: dict | None = None          # a table of another shape than one line per row (the auth grid)


@dataclass
class CheckResult:
    """What one check found: matrices, loose facts, and problems not carried by a FAIL row."""

    matrices: list[Matrix] = field(default_factory=list)
    facts: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def record(self, evidence, criterion: str) -> list[str]:
        """Write everything as evidence of `criterion`; returns what failed (empty: nothing did)."""
        from ivv.contract.matrix import record_matrix, table, transcript

        failures = list(self.problems)
        for m in self.matrices:
            grid = m.grid or table(m.rows, m.columns)
            failed = record_matrix(evidence, criterion, m.title, m.rows, grid, m.artifact, transcript(m.rows))
            failures += [f"{r.name}: {r.observed}" for r in failed]
        record(evidence, self.facts, criterion)
        failures += [f"{f.name}: {f.observed}" for f in self.facts if isinstance(f, Fact) and not f.passed]
        return failures


class Protocol:
    """One protocol's checks against one stack. Subclasses set `kind`, `schemes`, `offers`, implement
    `connect` and the checks they offer, and register with `@register_protocol`.

    Built once per session and stack (`for_stack`), so what a check learnt of the service (ids it
    returned, values it harvested) serves the next; `with_credentials` gives it each test's credentials.
    """

    kind: ClassVar[str]
    schemes: ClassVar[tuple[str, str]]          # (plain, TLS) URL schemes of the endpoint
    offers: ClassVar[frozenset[str]]

    def __init__(self, stack, setting: Callable[[str, object], object]):
        self.stack, self.setting = stack, setting
        self.credentials = None

    @classmethod
    def connect(cls, endpoint, timeout: float = 10.0, **options):
        raise NotImplementedError(f"{cls.kind}: no interactive client")

    def with_credentials(self, credentials) -> Protocol:
        self.credentials = credentials
        return self

    def _missing(self, check: str):
        raise NotImplementedError(f"protocol {self.kind} does not offer the {check} check")

    # -- the checks (each returns a CheckResult) ----------------------------------------------
    def conformance(self) -> CheckResult:
        """Every operation called as the contract allows, each answer as the contract documents."""
        return self._missing("conformance")

    def drift(self) -> CheckResult:
        """Documented vs observed, from what conformance saw."""
        return self._missing("drift")

    def compliance(self) -> CheckResult:
        """The protocol's own rules (its `*_compliance` check): malformed, unknown and refused requests."""
        return self._missing("compliance")

    def fuzz(self) -> CheckResult:
        """Requests the contract forbids: rejected as documented, never a crash or a server error."""
        return self._missing("fuzz")

    def boundaries(self) -> CheckResult:
        """Every constraint broken alone, its control just inside it accepted."""
        return self._missing("boundaries")

    def auth_matrix(self) -> CheckResult:
        """Every operation x every kind of credential: the documented refusal or answer, with controls."""
        return self._missing("auth_matrix")

    def session_isolation(self) -> CheckResult:
        """Clients with different credentials take turns: what one sent never reaches another."""
        return self._missing("session_isolation")

    # -- calls a user would make ---------------------------------------------------------------
    def call(self, operation: str, body=None, role: str | None = None):
        """One call of the API as `role` (an HTTP "METHOD /path" with a JSON body; a method and params
        elsewhere); its answer. Raises OSError when the API refuses or does not answer."""
        return self._missing("call")

    def write_data(self, device: str) -> list[dict]:
        """Make the service write data the way a user would (what ops.data_preserved keeps across an
        operation); returns what each call answered. Raises NotImplementedError where the protocol or
        the profile says of no such call, OSError where the API does not answer."""
        return self._missing("write_data")


def register_protocol(cls: type[Protocol]) -> type[Protocol]:
    """Class decorator: a protocol kind is registered once."""
    if cls.kind in PROTOCOLS:
        raise ValueError(f"protocol {cls.kind!r} is already registered ({PROTOCOLS[cls.kind].__qualname__})")
    PROTOCOLS[cls.kind] = cls
    return cls


def _load_builtin() -> None:
    import ivv.protocols.http  # noqa: F401
    import ivv.protocols.jsonrpc  # noqa: F401


def kind_of(profile) -> str:
    return (profile.data.get("api") or {}).get("kind", DEFAULT_KIND)


def protocol_of(profile) -> type[Protocol]:
    """The protocol class a profile's `api.kind` names (a clear error naming the profile otherwise)."""
    _load_builtin()
    kind = kind_of(profile)
    if kind not in PROTOCOLS:
        raise ProfileError(f"{profile.path}: api.kind {kind!r} is not one of {', '.join(sorted(PROTOCOLS))}")
    return PROTOCOLS[kind]
