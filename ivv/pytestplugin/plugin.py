"""The ivv pytest plugin: options, markers, the `evidence` / `ivv_gates` / `ivv_bundle` fixtures, and the
session hooks that turn test outcomes into evidence, verdicts and the gate-review report.

A bundle (reports/<run-id>/) is opened when a gate is given (then junit.xml and the pytest-html page go
into it too), or lazily when a test uses `evidence` or carries the `criterion` marker; other self-tests
leave reports/ untouched. Tests of criteria the run left out (deselected, not collected, never run) are
recorded by `ivv.pytestplugin.selection`.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ivv.config.gates import GateSet
from ivv.config.waivers import load_waivers
from ivv.errors import ConfigError, PrerequisiteError
from ivv.evidence import bundle as bundle_lib
from ivv.evidence import integrity, redact
from ivv.evidence.journal import Recorder, now
from ivv.evidence.verdict import Verdict
from ivv.pytestplugin import selection as selection_lib
from ivv.pytestplugin.selection import criteria_of as _criteria_of
from ivv.pytestplugin.selection import suite_of

STATE = pytest.StashKey["IvvState"]()
REPORTS = pytest.StashKey[dict]()
RECORDER = pytest.StashKey[Recorder]()
MESSAGE_LIMIT = 400
HARNESS_ERRORS = (ConfigError, PrerequisiteError)  # the harness could not run: exit status 2, not a verdict


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ivv", "ivv evidence, gates and reports")
    group.addoption("--ivv-gate", action="append", default=[], metavar="GATE",
                    help="gate file or name under deployment/gates (repeatable)")
    group.addoption("--ivv-waivers", action="append", default=[], metavar="FILE", help="waiver file (repeatable)")
    group.addoption("--ivv-reports", default="reports", metavar="DIR", help="where run bundles go (default reports/)")
    group.addoption("--ivv-run-id", default=None, help="bundle name (default: UTC time + random suffix)")
    group.addoption("--ivv-templates", default=None, metavar="DIR", help="folder with gate-review.{md,html}.j2")
    group.addoption("--ivv-target", action="append", default=[], metavar="NAME",
                    help="inventory target to run against (repeatable)")
    group.addoption("--ivv-inventory", default=None, metavar="FILE", help="inventory YAML")
    group.addoption("--ivv-profile", default=None, metavar="FILE", help="stack profile YAML")
    group.addoption("--ivv-lease-wait", type=float, default=0.0, metavar="S",
                    help="how long to wait for a shared device another run holds (default: give up at once)")
    group.addoption("--ivv-lease-ttl", type=float, default=900.0, metavar="S",
                    help="lease time on a shared device, renewed every third of it while the run lives")
    group.addoption("--ivv-secret", action="append", default=[], metavar="VALUE",
                    help="a value to redact from every output (repeatable; also IVV_SECRET_* variables)")
    group.addoption("--ivv-command", default=None, metavar="TEXT",
                    help="the command line to record as the run's selection (set by `ivv gate`)")
    group.addoption("--ivv-collect-to", default=None, metavar="FILE",
                    help="with --collect-only: write the tests of criteria to FILE, open no bundle")
    group.addoption("--ivv-expect", default=None, metavar="FILE",
                    help="tests of criteria a full collection found (--ivv-collect-to); those missing here "
                         "leave their criteria NOT VERIFIED")


@dataclass
class IvvState:
    """Per-session plugin state: loaded gates and waivers, and the bundle once it exists."""
    config: pytest.Config
    gates: GateSet
    waivers: list
    waiver_files: list
    bundle: bundle_lib.Bundle | None = None
    verdicts: dict | None = None
    stopped_by: str | None = None
    previous_bundle: bundle_lib.Bundle | None = None  # an outer session's bundle (nested runs)
    report_paths: dict = field(default_factory=dict)
    selection: selection_lib.Selection = field(default_factory=selection_lib.Selection)
    ran: set = field(default_factory=set)             # node ids whose runtest protocol started

    def ensure_bundle(self) -> bundle_lib.Bundle:
        if self.bundle is None:
            opt = self.config.getoption
            args = list(self.config.invocation_params.args)
            self.bundle = bundle_lib.Bundle.create(
                Path(opt("ivv_reports")), opt("ivv_run_id"), gates=self.gates, waiver_files=self.waiver_files,
                command=args, command_line=opt("ivv_command") or shlex.join(["pytest", *args]))
            self.previous_bundle = bundle_lib.current()
            bundle_lib.set_current(self.bundle)
            self.selection.record(self.bundle)
        return self.bundle


def _state(config: pytest.Config) -> IvvState | None:
    return config.stash.get(STATE, None)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "criterion(*ids): the gate criteria this test decides")
    config.addinivalue_line("markers", "api_check(name): runs only where the stack's protocol offers this check")
    config.addinivalue_line("markers", "vdevice: needs the booted virtual device")
    config.addinivalue_line("markers", "slow: a slow local self-test")
    config.addinivalue_line("markers", "extended: a virtual-device self-test beyond make test's time budget "
                                       "(resilience trials, a fleet of virtual devices, leases): make test-extended")
    redact.register_from_env()
    redact.register(os.environ.get(integrity.KEY_ENV))  # the bundle signing key, when set
    for value in config.getoption("ivv_secret") or ():
        redact.register(value)
    try:
        gates = GateSet.load(config.getoption("ivv_gate") or (), root=config.rootpath)
        waiver_files = [Path(p) for p in config.getoption("ivv_waivers") or ()]
        known = {c.id for c in gates.criteria} if gates else None
        waivers = [w for f in waiver_files for w in load_waivers(f, known)]
    except ConfigError as exc:
        raise pytest.UsageError(f"ivv: {exc}") from None
    if config.getoption("ivv_collect_to"):
        gates = GateSet()  # the collect-only pass of `ivv gate`: inputs validated, no bundle, nothing recorded
    state = IvvState(config=config, gates=gates, waivers=waivers, waiver_files=waiver_files)
    config.stash[STATE] = state
    if hasattr(config, "workerinput") or config.getoption("ivv_collect_to"):
        return
    if gates or config.getoption("ivv_run_id"):
        try:
            bundle = state.ensure_bundle()
        except ConfigError as exc:
            raise pytest.UsageError(f"ivv: {exc}") from None
        pages = {}
        if not config.option.xmlpath:
            config.option.xmlpath = str(bundle.path / bundle_lib.JUNIT)
        if Path(config.option.xmlpath).resolve().parent == bundle.path.resolve():
            pages["junit"] = Path(config.option.xmlpath).name
        if hasattr(config.option, "htmlpath"):
            if not config.option.htmlpath:
                config.option.htmlpath = str(bundle.path / bundle_lib.HTML_PAGE)
                config.option.self_contained_html = True
            if Path(config.option.htmlpath).resolve().parent == bundle.path.resolve():
                pages["html"] = Path(config.option.htmlpath).name
        bundle.set_manifest("pages", pages)


def _suite_of(item: pytest.Item) -> str | None:
    return suite_of(item.nodeid)


def asked_for(gates, criteria: list[str]) -> bool:
    """A test is run when a loaded gate has one of its criteria (or it names none, or no gate is loaded):
    a suite whose gate was left out records nothing it was not asked for."""
    return not gates or not criteria or any(c in gates for c in criteria)


def offered_by_protocol(config: pytest.Config, items: list[pytest.Item]) -> list[pytest.Item]:
    """Tests marked `api_check(NAME)` only where the stack's protocol offers NAME (`ivv.protocols`): a check
    that means nothing for the protocol (JSON-RPC notifications on a REST API) is not part of the run,
    rather than run and left undecided. An unreadable profile filters nothing (its fixture says why)."""
    from ivv.config import profile as profile_lib
    from ivv.protocols import protocol_of

    if not any(item.get_closest_marker("api_check") for item in items):
        return items
    try:
        offers = protocol_of(profile_lib.load(config.getoption("ivv_profile"))).offers
    except ConfigError:
        return items
    return [item for item in items if all(name in offers for m in item.iter_markers("api_check") for name in m.args)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items[:] = offered_by_protocol(config, items)
    state = _state(config)
    if state is None or config.getoption("ivv_collect_to"):
        return
    items[:] = [item for item in items if asked_for(state.gates, _criteria_of(item))]


def pytest_deselected(items) -> None:
    """-k, -m, --deselect: tests of criteria left out of this run."""
    config = items[0].config if items else None
    state = _state(config) if config is not None else None
    if state is not None:
        state.selection.deselect(items)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    state = _state(session.config)
    if state is None:
        return
    opt = session.config.getoption
    if opt("ivv_collect_to"):
        selection_lib.write_collected(opt("ivv_collect_to"), session.items, session.config.rootpath)
        return
    if opt("ivv_expect"):
        state.selection.compare(opt("ivv_expect"), session.items, lambda ids: asked_for(state.gates, ids))
    if state.bundle is not None:
        state.selection.record(state.bundle)


def _recorder_for(item: pytest.Item, bundle: bundle_lib.Bundle) -> Recorder:
    recorder = item.stash.get(RECORDER, None)
    if recorder is None:
        recorder = bundle.recorder(test=item.nodeid, suite=_suite_of(item),
                                   target_name=lambda: getattr(item, "ivv_target_name", "local"))
        item.stash[RECORDER] = recorder
    return recorder


@pytest.fixture(scope="session")
def ivv_gates(pytestconfig: pytest.Config) -> GateSet:
    """The gates loaded for this run (empty when none): `.criterion(id)`, `.setting("load.users", 10)`."""
    return _state(pytestconfig).gates


@pytest.fixture(scope="session")
def ivv_bundle(pytestconfig: pytest.Config) -> bundle_lib.Bundle:
    """The run bundle: `set_manifest(key, value)`, `update_manifest(key, dict)`, `recorder()`, `journal`."""
    return _state(pytestconfig).ensure_bundle()


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Recorder:
    """Record facts for this test: `measure`, `check`, `gap`, `artifact` (see docs/internals.md)."""
    bundle = _state(request.config).ensure_bundle()
    return _recorder_for(request.node, bundle)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    _redact_report(report)
    message = None
    if call.excinfo is not None:
        message = call.excinfo.exconly()
        if call.excinfo.errisinstance(HARNESS_ERRORS):
            failed_check = "harness"
        elif call.excinfo.errisinstance((AssertionError, pytest.fail.Exception)):
            failed_check = "assertion"
        else:
            failed_check = None
    else:
        failed_check = None
    recorder = item.stash.get(RECORDER, None)
    failing = [r for r in recorder.records if r.verdict == Verdict.FAIL] if recorder is not None else []
    if call.when == "call" and report.passed and failing:
        # Evidence said FAIL: junit and the pytest-html page must not show this test as passed.
        report.outcome = "failed"
        report.longrepr = "ivv evidence FAIL: " + "; ".join(
            f"{r.criterion} {r.name}: {r.value!r}{' ' + r.unit if r.unit else ''} "
            f"(required {(r.threshold or {}).get('text', 'a passing check')})" for r in failing)
        failed_check, message = "evidence", report.longrepr
    if report.skipped:
        longrepr = report.longrepr
        message = getattr(report, "wasxfail", None) or (longrepr[2] if isinstance(longrepr, tuple) else str(longrepr))
        message = message.removeprefix("Skipped: ")
    item.stash.setdefault(REPORTS, {})[call.when] = (report.outcome, message, failed_check, report.duration)


def _redact_report(report: pytest.TestReport) -> None:
    """Mask registered secrets in a failure report and captured output before any writer sees them."""
    if not redact.secrets():
        return
    report.sections = [(title, redact.redact(content)) for title, content in report.sections]
    if report.failed and report.longrepr is not None:
        text = str(report.longrepr)
        cleaned = redact.redact(text)
        if cleaned != text:
            report.longrepr = cleaned


def _outcome(phases: dict) -> tuple[str, str | None, str | None]:
    """(outcome, message, cause) of a test from its setup/call/teardown reports.

    cause: "assertion" (a failed assert / pytest.fail), "evidence" (a FAIL record), "harness" (ConfigError or
    PrerequisiteError: the harness itself could not run), or None.
    """
    setup = phases.get("setup", ("passed", None, None, 0))
    if setup[0] == "failed":
        return "error", f"setup failed: {setup[1]}", "harness" if setup[2] == "harness" else None
    if setup[0] == "skipped":
        return "skipped", setup[1], None
    call = phases.get("call")
    if call is None:
        return "error", "the test body did not run", None
    if call[0] != "passed":
        return call[0], call[1], call[2]
    teardown = phases.get("teardown", ("passed", None, None, 0))
    if teardown[0] == "failed":
        return "error", f"teardown failed: {teardown[1]}", None
    return "passed", None, None


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def _close_test(item: pytest.Item, bundle: bundle_lib.Bundle, criteria: list[str], started: str,
                interrupted: str | None = None) -> None:
    outcome, message, cause = ("error", interrupted, None) if interrupted else _outcome(item.stash.get(REPORTS, {}))
    recorder = _recorder_for(item, bundle)
    message = _short(message)
    state = _state(item.config)
    gates = state.gates if state is not None else None
    for cid in criteria:
        own = recorder.recorded(cid)
        if gates and cid not in gates and not own and outcome in ("passed", "skipped"):
            continue   # a criterion of the test no loaded gate names, and nothing measured: no row for it
        if cause == "harness":
            recorder.gap(cid, f"the harness could not run the test ({message})",
                         details={"harness_error": message}, started=started)
        elif outcome == "skipped":
            recorder.gap(cid, f"test skipped: {message}", started=started)
        elif outcome == "error":
            recorder.gap(cid, f"test errored ({message})", started=started)
        elif outcome == "failed" and cause == "evidence":
            pass  # the FAIL records are already in the journal
        elif outcome == "failed" and (cause == "assertion" or own):
            what = "test assertion failed" if cause == "assertion" else "test failed after measuring"
            recorder.check(cid, what, False, expected="the test passes", observed=message, started=started)
        elif outcome == "failed":
            recorder.gap(cid, f"test errored before measuring ({message})", started=started)
        elif not own:
            recorder.gap(cid, "the test passed but recorded no evidence for it", started=started)
    _stop_if_required(item, recorder, criteria)
    duration = sum(phase[3] or 0 for phase in item.stash.get(REPORTS, {}).values())
    bundle.journal.append("test", None, item.nodeid, value=outcome, test=item.nodeid, suite=_suite_of(item),
                          start=started, target=getattr(item, "ivv_target_name", "local"),
                          details={"criteria": criteria, "duration_s": round(duration, 3), "message": message or None})
    bundle.checkpoint()


def _stop_if_required(item: pytest.Item, recorder: Recorder, criteria: list[str]) -> None:
    """A gate criterion with `stop_on_fail` that is not PASS stops the run: later checks would be meaningless."""
    state = _state(item.config)
    for cid in criteria:
        crit = state.gates.get(cid) if state.gates else None
        if crit is None or not crit.stop_on_fail:
            continue
        if any(r.verdict != Verdict.PASS for r in recorder.recorded(cid)):
            state.stopped_by = cid
            item.session.shouldstop = f"ivv: {cid} is not PASS and its gate says stop_on_fail"
            return


def _stop_cause(session: pytest.Session, state: IvvState) -> str:
    """Why collected tests did not run, for their gaps."""
    if session.config.option.collectonly:
        return "the run only collected tests (--collect-only)"
    if state.stopped_by:
        return f"the run stopped because {state.stopped_by} did not pass (stop_on_fail)"
    why = session.shouldstop or session.shouldfail
    return f"the run stopped early: {why}" if isinstance(why, str) else "the run stopped early (interrupted, or -x)"


def _record_stopped(state: IvvState) -> None:
    """After a stop, every gate criterion nothing was recorded for gets a gap naming the cause."""
    recorded = {r.criterion for r in state.bundle.journal.records}
    recorder = state.bundle.recorder()
    for crit in state.gates.criteria:
        if crit.id not in recorded:
            recorder.gap(crit.id, f"not run: the run stopped because {state.stopped_by} did not pass (stop_on_fail)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    state = _state(item.config)
    criteria = _criteria_of(item)
    bundle = state.ensure_bundle() if (state and criteria) else None
    started = now()
    if state is not None:
        state.ran.add(item.nodeid)
    if bundle is not None:
        bundle.journal.append("test", None, item.nodeid, value="started", test=item.nodeid, suite=_suite_of(item),
                              start=started, target=selection_lib.target_param(item), details={"criteria": criteria})
    result = yield
    if bundle is not None:
        error = result.excinfo[1] if result.excinfo else None
        interrupted = f"the run was interrupted during the test ({type(error).__name__})" if error else None
        _close_test(item, bundle, criteria, started, interrupted)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    state = _state(session.config)
    if state is None or state.bundle is None:
        return
    from ivv.report import render as report  # imported late: matplotlib is only needed when a bundle exists

    bundle = state.bundle
    selection_lib.not_run(bundle, getattr(session, "items", ()), state.ran, _stop_cause(session, state))
    if state.stopped_by:
        _record_stopped(state)
    bundle.finish()
    state.verdicts, state.report_paths = report.render_bundle(
        bundle.path, templates=session.config.getoption("ivv_templates"))


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    state = _state(config)
    if state is None or state.bundle is None or state.verdicts is None:
        return
    terminalreporter.section("ivv gate review")
    terminalreporter.write_line(f"decision: {state.verdicts['decision']} - {state.verdicts['reason']}")
    for kind, path in sorted(state.report_paths.items()):
        terminalreporter.write_line(f"{kind}: {path}")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = _state(config)
    if state is None or state.bundle is None:
        return
    bundle = state.bundle
    pages = (bundle.manifest.get("pages") or {}).values()
    for page in pages:
        path = bundle.path / page
        if path.exists():
            redact.redact_file(path)
    bundle.seal_pages(pages)
    bundle_lib.update_latest(bundle.path.parent, bundle.path)
    if bundle_lib.current() is bundle:
        bundle_lib.set_current(state.previous_bundle)


def read_verdicts(bundle_dir: str | Path) -> dict:
    """verdicts.json of a bundle."""
    return json.loads((Path(bundle_dir) / bundle_lib.VERDICTS).read_text(encoding="utf-8"))


__all__ = ["evidence", "ivv_bundle", "ivv_gates", "read_verdicts"]
