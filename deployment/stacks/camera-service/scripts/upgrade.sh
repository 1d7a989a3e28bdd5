#!/usr/bin/env bash
# Upgrade to this release: back up the config, stage the release beside the running one, switch
# `current` (the one commit point), restart, health-check, then put the new release on probation (the
# watchdog rolls it back by itself when it crash-loops or fails its health check). When the new release
# does not come up, roll back to the previous one at once and exit non-zero. A power cut at any moment
# leaves the old or the new release, whole; running this again finishes the upgrade.
# Usage: sudo ./upgrade.sh [--env ENV]   (default: the installed environment)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

environment=""
while [ $# -gt 0 ]; do
    case "$1" in
        --env|--environment) environment="${2:?--env needs a value}"; shift 2;;
        -h|--help) sed -n '2,7p' "$0"; exit 0;;
        *) die "unknown argument '$1' (see --help)" 2;;
    esac
done
need_root
[ -L "$INSTALL_DIR/current" ] || die "camera-service is not installed (no $INSTALL_DIR/current); use install.sh"
environment=${environment:-$(cat "$CONFIG_DIR/environment")}
check_environment "$environment"
release=$(release_root)
new=$(release_version "$release")
old=$(release_version "$INSTALL_DIR/current")
check_prerequisites

finish() {   # units, restart, health check, probation: everything after the switch
    phase units
    install_units "$(readlink -f "$INSTALL_DIR/current")" "$environment"
    write_environment "$environment"
    if [ "$environment" = production ]; then ensure_tls; durable "$CONFIG_DIR"; fi
    phase restart
    restart_units
    phase verify
    wait_healthy "$new"
}

if [ "$new" = "$old" ]; then
    say "release $new is already current: finishing its upgrade (units, restart, health check)"
    finish || die "camera-service $new is current but does not answer; see journalctl -u camera-service"
    previous=$(readlink "$INSTALL_DIR/previous" 2>/dev/null || true)
    if [ -n "$previous" ] && [ "$(readlink -f "$INSTALL_DIR/$previous")" != "$(readlink -f "$INSTALL_DIR/current")" ]; then
        arm_probation "$new" "$(release_version "$INSTALL_DIR/$previous")"
    fi
    restart_watchdog
    say "camera-service $new is current"
    exit 0
fi

say "upgrading camera-service $old -> $new ($environment)"
phase backup
disarm_probation
backup="$BACKUP_DIR/$old-$(date -u +%Y%m%dT%H%M%SZ)"
install -d -m 0700 "$BACKUP_DIR"
rm -rf "$backup.new"
cp -a "$CONFIG_DIR" "$backup.new"
mv "$backup.new" "$backup"
durable "$BACKUP_DIR"
atomic_link "$backup" "$BACKUP_DIR/latest"
say "config backed up to $backup"

if knob_on NON_ATOMIC_UPGRADE; then
    # Fault knob: the live tree is rewritten in place (code, then config), with no staging and no switch.
    live=$(readlink -f "$INSTALL_DIR/current")
    phase stage
    say "fault non_atomic_upgrade: rewriting $live in place"
    rm -rf "$RELEASES_DIR/$old.orig"
    cp -a "$live" "$RELEASES_DIR/$old.orig"
    atomic_link "releases/$old.orig" "$INSTALL_DIR/previous"
    copy_in_place "$release" "$live" code
    durable "$live"
    phase switch
    copy_in_place "$release" "$live" config
    durable "$live"
else
    atomic_link "releases/$(basename "$(readlink -f "$INSTALL_DIR/current")")" "$INSTALL_DIR/previous"
    phase stage
    place_release "$release" "$new"
    phase switch
    ensure_config_links "$RELEASES_DIR/$PLACED"
    switch_current "$PLACED"
fi
if finish; then
    arm_probation "$new" "$old"
    restart_watchdog
    say "upgraded camera-service to $new (rollback.sh returns to $old)"
    exit 0
fi
say "camera-service $new failed its health check; rolling back to $old"
"$(readlink -f "$INSTALL_DIR/previous")/scripts/rollback.sh" || die "automatic rollback to $old FAILED" 3
die "upgrade to $new failed; rolled back to $old" 1
