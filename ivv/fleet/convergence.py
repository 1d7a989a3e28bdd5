"""Fleet convergence (`fleet.converged`): after a fleet upgrade every device reports the same version,
and the last one did so within the gate's bound of the first.

Two halves, so runner hosts that never see each other's devices still decide it:
- on each device (the fleet suite, in that device's own run): a check that it reports the release the
  run deployed, with the version and the time it was read (`details.version`, `details.reported_at`);
- when the devices' bundles are merged (`record`, called by `ivv merge` and `ivv gate` over a fleet): a
  check that every device reports the same version, and the spread between the first and the last
  report, judged by the criterion's threshold in the gate. The clock-in-sync check of the pre-run health
  check is what makes report times of different runner hosts comparable.
Fewer than two devices with a version is a gap: one device cannot show that a fleet converged.
"""

from __future__ import annotations

from datetime import datetime

from ivv.evidence.journal import Record

CRITERION = "fleet.converged"


def reported(stack) -> tuple[str | None, str | None]:
    """(the release the stack reports on its device, why none could be read)."""
    read = getattr(stack, "installed_version", None)
    if read is None:
        return None, f"{stack} reports no installed release (ivv did not deploy it here)"
    version = read()
    if version is None:
        return None, f"{stack}: the profile's deployment.version_command gave no version"
    return version, None


def _when(text: str | None) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def device_reports(records: list[Record]) -> dict[str, dict]:
    """The last version each device reported: {target: {"version", "at", "seq"}}."""
    out: dict[str, dict] = {}
    for record in records:
        details = record.details if isinstance(record.details, dict) else {}
        if record.criterion != CRITERION or record.kind != "check" or not record.target or "version" not in details:
            continue
        out[record.target] = {"version": details["version"], "at": details.get("reported_at"), "seq": record.seq}
    return out


def record(recorder, records: list[Record], gates) -> None:
    """The fleet-wide half, for a gate that has the criterion: same version everywhere, and the spread."""
    if gates is None or CRITERION not in gates:
        return
    reports = device_reports(records)
    if len(reports) < 2:
        recorder.gap(CRITERION, f"only {len(reports)} device(s) reported a version; convergence needs two or more",
                     details={"reports": reports})
        return
    versions = {t: r["version"] for t, r in sorted(reports.items())}
    counts: dict[str, int] = {}
    for version in versions.values():
        counts[str(version)] = counts.get(str(version), 0) + 1
    most = max(sorted(counts), key=lambda v: counts[v])
    same = len(counts) == 1 and None not in versions.values()
    recorder.check(CRITERION, f"every device of the fleet reports the same version ({len(versions)} devices)", same,
                   expected=f"one version on every device ({most} on {counts[most]})", observed=versions,
                   details={"table": {"title": "Version per device", "columns": ["device", "version", "reported at"],
                                      "rows": [[t, r["version"], r["at"]] for t, r in sorted(reports.items())]}})
    times = [_when(r["at"]) for r in reports.values()]
    if gates.criterion(CRITERION).threshold is None or None in times:
        return
    spread = max(times) - min(times)
    first = min(reports, key=lambda t: _when(reports[t]["at"]))
    last = max(reports, key=lambda t: _when(reports[t]["at"]))
    recorder.measure(CRITERION, f"time from the first device ({first}) to the last ({last}) reporting its version",
                     round(spread, 3), unit="s", details={"reports": reports})

