"""Constructors in the old argument order (criterion first) for ivv.security.exposure until it records
`ivv.evidence.facts` itself; they build the one fact type, there is no second one."""

from __future__ import annotations

from ivv.evidence import facts


def Finding(criterion: str, name: str, passed: bool, expected=None, observed=None, exchange: str = "",  # noqa: N802
            details: dict | None = None) -> facts.Fact:
    return facts.Fact(name, passed, expected, observed, (exchange,) if exchange else (), details or {}, criterion)


def Undecided(criterion: str, name: str, reason: str) -> facts.Undecided:  # noqa: N802
    return facts.Undecided(name, reason, criterion=criterion)
