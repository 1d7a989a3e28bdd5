"""Does rollback finish within the SLO, and does it give back version N with its data and config?"""

import statistics

import pytest

from ivv.evidence.facts import record
from ivv.ops import files
from ivv.ops.journal import evidence_of as journal_of
from ivv.ops.rollback import residue_found


@pytest.mark.criterion("ops.rollback_time", "ops.data_preserved")
def test_rollback_time_and_state_restored(evidence, ops, baseline, ivv_gates):
    repeats = int(ivv_gates.setting("rollback.repeats", 3))
    times, runs = [], []
    for run in range(1, repeats + 1):
        up, back, after = ops.upgrade_then_rollback(baseline)
        runs.append({"run": run, "upgrade": up.as_dict(), "rollback": back.as_dict(), "after": after.summary(),
                     **({"data_written_before": baseline.written} if run == 1 else {})})   # API results, markers
        evidence.check("ops.rollback_time", f"run {run}: upgrade to {baseline.next_version} answers as it",
                       up.succeeded and up.ready and after.upgraded_version == baseline.next_version,
                       expected=baseline.next_version, observed=after.upgraded_version)
        journal, found = journal_of(evidence, ops.stack, back)
        evidence.check("ops.rollback_time", f"run {run}: rollback to {baseline.version} answers as it",
                       back.succeeded and back.ready and after.version == baseline.version,
                       expected=baseline.version, observed=after.version, artifacts=journal,
                       details={"version": after.version, "rollback_s": back.total_s,
                                "ready": (back.ready_observation or {}).get("body"), **found})
        record(evidence, files.kept(f"run {run}: data sha256 unchanged after upgrade and rollback", baseline.data,
                                    after.data, ops.profile.data_dirs), "ops.data_preserved")
        record(evidence, files.same_tree(f"run {run}: configuration restored to {baseline.version}'s", baseline.config,
                                         after.config, "the configuration folder"), "ops.data_preserved")
        evidence.check("ops.rollback_time", f"run {run}: no files of {baseline.next_version} remain",
                       not residue_found(after.residue), expected=f"install tree and unit files equal to {baseline.version}'s",
                       observed=after.residue)
        if back.total_s is not None:
            times.append(back.total_s)
        else:
            break
    art = evidence.artifact("rollback-runs.json", ops.dump(runs))
    if len(times) < repeats:
        evidence.check("ops.rollback_time", f"all {repeats} rollbacks reached ready", False,
                       expected=repeats, observed=len(times), artifacts=[art])
        pytest.fail(f"only {len(times)} of {repeats} rollbacks reached ready")
    table = {"columns": ["statistic", "seconds"], "rows": [["min", min(times)], ["median", statistics.median(times)],
                                                          ["max", max(times)], ["runs", len(times)]]}
    for run, seconds in enumerate(times, start=1):   # each run a repeat: the worst binds, an outlier is flagged
        last = run == len(times)
        evidence.measure("ops.rollback_time", f"run {run}: rollback to {baseline.version}, command to ready", seconds,
                         unit="s", repeat_of="rollback time, command to ready", artifacts=[art] if last else (),
                         details={"table": table} if last else None,
                         series={"label": "rollback time per run", "unit": "s", "values": times,
                                 "x": list(range(1, len(times) + 1)), "x_label": "run"} if last else None)


@pytest.mark.criterion("ops.rollback_time", "ops.data_preserved")
def test_broken_release_detected_and_rolled_back(evidence, ops, baseline):
    result = ops.broken_upgrade(baseline)
    art = evidence.artifact("broken-upgrade.json", ops.dump(result.as_dict()))
    journal, found = journal_of(evidence, ops.stack, result.upgrade)
    evidence.check("ops.rollback_time", "upgrade to a release that cannot start is detected as failed",
                   result.detected, expected="upgrade exits non-zero or the service never becomes ready",
                   observed=result.detection, artifacts=[art, *journal], details=found or None)
    evidence.check("ops.rollback_time", f"service back on {baseline.version} after the failed upgrade",
                   result.version == baseline.version, expected=baseline.version, observed=result.version)
    evidence.measure("ops.rollback_time", f"failed upgrade: time from failure detected to healthy on {baseline.version}",
                     result.recovery_s, unit="s", artifacts=[art])
    record(evidence, files.kept("data sha256 unchanged after the failed upgrade", baseline.data, result.data,
                                ops.profile.data_dirs), "ops.data_preserved")
