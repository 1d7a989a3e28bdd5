"""Does the automated deployment complete, and is what it installed what a reviewer would expect?

Order matters and is the order of a real rollout: timed fresh install, inspect it, per-environment
configuration, idempotent reinstall, uninstall (data kept), reinstall.
"""

import pytest

from ivv.evidence.facts import record
from ivv.ops import files
from ivv.ops.journal import evidence_of as journal_of
from ivv.targets import facts


@pytest.mark.criterion("ops.deploy")
def test_fresh_install_completes_to_ready(evidence, ops, fresh_install):
    op = fresh_install
    art = evidence.artifact("install.json", ops.dump(op))
    journal, found = journal_of(evidence, ops.stack, op)
    evidence.check("ops.deploy", f"install {ops.current_version} commands exit 0", op.succeeded,
                   expected="every command exits 0",
                   observed=[f"{s.command} -> {s.exit_status}" for s in op.steps], artifacts=[art, *journal],
                   details=found or None)
    evidence.check("ops.deploy", "service ready after install (code and body)", op.ready,
                   expected="ready", observed=op.ready_observation, artifacts=[art])
    evidence.measure("ops.deploy", "install time, first command to ready", op.total_s, unit="s",
                     details={"commands_s": op.commands_s, "ready_wait_s": op.ready_wait_s,
                              "archive_sha256": ops.release(ops.current_version)[1]}, artifacts=[art])
    assert op.succeeded and op.ready


@pytest.mark.criterion("ops.deploy")
def test_units_enabled_active_with_restart_policy(evidence, ops, fresh_install):
    for unit in ops.units:
        state = facts.unit_state(ops.target, unit)
        ok, reason = facts.unit_ok(state)
        evidence.check("ops.deploy", f"unit {unit}: enabled, active, restart policy", ok,
                       expected="enabled / active / Restart != no", observed=reason, details=state)


@pytest.mark.criterion("ops.deploy")
def test_service_users_and_device_access(evidence, ops, host, fresh_install):
    for user in ops.users:
        exists = host.user(user.name).exists
        groups = sorted(host.user(user.name).groups) if exists else []
        missing = sorted(set(user.groups) - set(groups))
        evidence.check("ops.deploy", f"user {user.name} exists with groups {sorted(user.groups)}",
                       exists and not missing, expected=sorted(user.groups), observed=groups)
        for device in user.devices:
            result = ops.as_user(user.name, f"test -r {device} && test -c {device}")
            evidence.check("ops.deploy", f"{device} readable by {user.name} (as that user)",
                           result.exit_status == 0, expected="exit 0 from `test -r` run as the user",
                           observed={"exit": result.exit_status, "stderr": result.stderr[-300:]})


@pytest.mark.criterion("ops.env_config")
def test_ownership_and_modes(evidence, ops, fresh_install):
    for rule in ops.path_rules():
        observed = ops.stat(rule.path)
        evidence.check("ops.env_config", f"{rule.path} ({rule.role}): {rule.text}", rule.judge(observed),
                       expected={"owners": list(rule.owners), "forbidden_mode_bits": oct(rule.forbidden_bits)},
                       observed=observed or "missing")


@pytest.mark.criterion("ops.deploy")
def test_log_rotation_configured_and_effective(evidence, ops, fresh_install):
    result = ops.force_log_rotation()
    evidence.check("ops.deploy", "logrotate configuration present for the stack's logs", result["configured"],
                   expected=f"a logrotate rule covering {ops.log_dir}", observed=result["config"])
    evidence.check("ops.deploy", "forced rotation produces a rotated log file", result["rotated"],
                   expected="a new rotated file after `logrotate -f`",
                   observed={"new_files": result["new_files"], "exit": result["exit"],
                             "seeded_empty_logs": result["seeded"]},
                   artifacts=[evidence.artifact("logrotate.txt", result["output"])])


@pytest.mark.criterion("ops.env_config")
def test_ports_listen_only_on_configured_addresses(evidence, ops, fresh_install):
    environment = ops.environments[-1]
    for port in ops.ports(environment):
        seen = facts.listening_addresses(ops.target, port.port)
        wanted = {facts.normalise_address(a) for a in port.addresses}
        evidence.check("ops.env_config", f"{environment}: {port.name} port {port.port} on {sorted(wanted)} only",
                       seen == wanted, expected=sorted(wanted), observed=sorted(seen))


@pytest.mark.criterion("ops.deploy")
def test_second_install_changes_nothing(evidence, ops, fresh_install):
    environment = ops.environments[-1]
    before, units_before = ops.inventory_install(), ops.unit_states()
    op = ops.install(ops.current_version, environment)
    after, units_after = ops.inventory_install(), ops.unit_states()
    evidence.artifact("idempotence-diff.json", ops.dump(files.diff_inventory(before, after)))
    evidence.check("ops.deploy", "second install succeeds and is ready", op.succeeded and op.ready,
                   expected="exit 0, ready", observed=[(s.command, s.exit_status) for s in op.steps])
    record(evidence, files.same_tree("second install changes no installed file (path, mode, owner, sha256)",
                                     before, after, "the install tree and unit files"), "ops.deploy")
    evidence.check("ops.deploy", "second install leaves unit states unchanged", units_before == units_after,
                   expected=units_before, observed=units_after)


@pytest.mark.criterion("ops.env_config")
def test_environment_configuration_applied(evidence, ops):
    """Each environment in turn, observed through the running service (the target's own environment is
    the one already deployed; the reinstall after uninstall puts it back and observes it again)."""
    deployed = ops.deployed_environment()
    configs = {}
    for environment in sorted(ops.environments, key=lambda e: e != deployed):   # what is deployed first
        if ops.deployed_environment() != environment:
            op = ops.configure(environment)
            evidence.check("ops.env_config", f"switch to {environment}: commands exit 0 and ready",
                           op.succeeded and op.ready, expected="exit 0, ready",
                           observed={"steps": [(s.command, s.exit_status) for s in op.steps],
                                     "ready": op.ready_observation},
                           artifacts=[evidence.artifact(f"configure-{environment}.json", ops.dump(op))])
        for fact in ops.observe_environment(environment):
            evidence.check("ops.env_config", f"{environment}: {fact.name}", fact.passed,
                           expected=fact.expected, observed=fact.observed)
        configs[environment] = ops.config_inventory()
    record(evidence, ops.environments_differ(configs), "ops.env_config")


@pytest.mark.criterion("ops.deploy", "ops.data_preserved", "ops.env_config")
def test_uninstall_keeps_data_and_reinstall_works(evidence, ops, fresh_install):
    environment = ops.environments[-1]
    ops.seed_data_markers()
    data_before = ops.data_checksums()
    op = ops.uninstall()
    journal, found = journal_of(evidence, ops.stack, op)
    evidence.check("ops.deploy", "uninstall commands exit 0", op.succeeded,
                   expected="exit 0", observed=[(s.command, s.exit_status) for s in op.steps], artifacts=journal,
                   details=found or None)
    gone = {unit: facts.unit_state(ops.target, unit).get("LoadState") for unit in ops.units}
    evidence.check("ops.deploy", "uninstall removes the units", all(v == "not-found" for v in gone.values()),
                   expected="LoadState=not-found", observed=gone)
    leftovers = ops.code_paths_present()
    evidence.check("ops.deploy", "uninstall removes the installed code", not leftovers,
                   expected="no install directory", observed=leftovers)
    record(evidence, files.kept("uninstall keeps every data file (sha256)", data_before, ops.data_checksums(),
                                ops.profile.data_dirs), "ops.data_preserved")
    op = ops.install(ops.current_version, environment)
    evidence.check("ops.deploy", "reinstall after uninstall completes to ready", op.succeeded and op.ready,
                   expected="exit 0, ready", observed={"steps": [(s.command, s.exit_status) for s in op.steps],
                                                       "ready": op.ready_observation})
    record(evidence, files.kept("data still intact after reinstall", data_before, ops.data_checksums(),
                                ops.profile.data_dirs), "ops.data_preserved")
    for fact in ops.observe_environment(environment):
        evidence.check("ops.env_config", f"{environment} after reinstall: {fact.name}", fact.passed,
                       expected=fact.expected, observed=fact.observed)
