"""Where a gate run's wall time goes: boot, deploy, then each suite (written to manifest `phases`).

A `PhaseClock` is a pytest plugin (registered by suites/conftest.py); the figures land in the active bundle's
manifest after every suite, so a run killed half-way still shows what it spent.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ivv.evidence import bundle as bundle_lib
from ivv.evidence.journal import now

# Fixture name -> phase name; the first setup of each is timed.
FIXTURE_PHASES = {"target": "boot", "deployed_stack": "deploy", "fresh_install": "deploy"}


class PhaseClock:
    def __init__(self, fixture_phases: dict[str, str] | None = None):
        self.fixture_phases = dict(fixture_phases or FIXTURE_PHASES)
        self.phases: dict[str, dict] = {}
        self.session_start = time.monotonic()
        self.session_start_iso = now()
        self._inside: list[str] = []          # suites currently running (0 or 1)

    # -- bookkeeping ---------------------------------------------------------------------------------
    def _add(self, name: str, seconds: float, start: str, end: str, kind: str) -> None:
        entry = self.phases.setdefault(name, {"name": name, "kind": kind, "seconds": 0.0, "start": start})
        entry["seconds"] = round(entry["seconds"] + seconds, 3)
        entry["end"] = end
        if kind == "fixture" and self._inside:
            suite = self.phases.get(self._inside[-1])
            if suite is not None:
                suite["nested_s"] = round(suite.get("nested_s", 0.0) + seconds, 3)

    def table(self) -> list[dict]:
        """Phases in the order they started, suite times net of nested boot/deploy, plus the total."""
        rows = []
        for entry in sorted(self.phases.values(), key=lambda e: (e["start"], e["kind"] != "fixture")):
            seconds = entry["seconds"] - entry.get("nested_s", 0.0) if entry["kind"] == "suite" else entry["seconds"]
            rows.append({"name": entry["name"], "seconds": round(seconds, 1), "start": entry["start"],
                         "end": entry.get("end")})
        rows.append({"name": "total (session)", "seconds": round(time.monotonic() - self.session_start, 1),
                     "start": self.session_start_iso, "end": now()})
        return rows

    def publish(self) -> None:
        bundle = bundle_lib.current()
        if bundle is not None:
            bundle.set_manifest("phases", self.table())

    @staticmethod
    def suite_of(item: pytest.Item) -> str:
        parts = Path(str(item.path)).parts
        if "suites" in parts and parts.index("suites") + 1 < len(parts) - 1:
            return "suite " + parts[parts.index("suites") + 1]
        return "suite " + Path(str(item.path)).parent.name

    # -- pytest hooks (the clock is registered as a plugin, so session fixtures are seen too) ---------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        phase = self.fixture_phases.get(fixturedef.argname)
        if phase is None or phase in self.phases:
            yield
            return
        start, start_iso = time.monotonic(), now()
        yield
        self._add(phase, time.monotonic() - start, start_iso, now(), "fixture")
        self.publish()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        suite = self.suite_of(item)
        self._inside.append(suite)
        start, start_iso = time.monotonic(), now()
        self.phases.setdefault(suite, {"name": suite, "kind": "suite", "seconds": 0.0, "start": start_iso})
        try:
            yield
        finally:
            self._inside.pop()
            self._add(suite, time.monotonic() - start, start_iso, now(), "suite")
            if nextitem is None or self.suite_of(nextitem) != suite:
                self.publish()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session, exitstatus):
        self.publish()
