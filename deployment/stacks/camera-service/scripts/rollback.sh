#!/usr/bin/env bash
# Roll back to the previous release and restore the config backed up by the last upgrade. The switch of
# `current` is the one commit point: a power cut leaves the newer or the previous release, whole, and
# running this again finishes the rollback.
# Usage: sudo ./rollback.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
    "") ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0;;
    *) die "unknown argument '$1' (see --help)" 2;;
esac
need_root

finish() {   # units, restart, health check: everything after the switch
    local version="$1" environment
    environment=$(cat "$CONFIG_DIR/environment")
    phase units
    install_units "$(readlink -f "$INSTALL_DIR/current")" "$environment"
    phase restart
    restart_units
    phase verify
    wait_healthy "$version"
}

if [ ! -L "$INSTALL_DIR/previous" ]; then
    current=$(release_version "$INSTALL_DIR/current" 2>/dev/null || true)
    if [ -n "$current" ] && [ "$(cat "$LAST_ROLLBACK" 2>/dev/null)" = "$current" ]; then
        say "already rolled back to camera-service $current: finishing (units, restart, health check)"
        finish "$current" || die "rolled back to $current but it does not answer; see journalctl -u camera-service"
        restart_watchdog
        say "rolled back to camera-service $current"
        exit 0
    fi
    die "no previous release to roll back to ($INSTALL_DIR/previous is missing)"
fi
previous=$(readlink "$INSTALL_DIR/previous"); previous=${previous#releases/}
[ -d "$RELEASES_DIR/$previous" ] || die "previous release $previous is not in $RELEASES_DIR"
[ -d "$BACKUP_DIR/latest" ] || die "no config backup in $BACKUP_DIR/latest"
version=$(release_version "$RELEASES_DIR/$previous")

# Fault knob slow_rollback (self-tests of the rollback-time criterion): sleep before rolling back.
slow=$(fault_knob SLOW_ROLLBACK)
if [ -n "$slow" ] && [ "$slow" != 0 ]; then say "fault slow_rollback: sleeping ${slow} s"; sleep "$slow"; fi
non_atomic=false
if knob_on NON_ATOMIC_UPGRADE; then non_atomic=true; fi

say "rolling back to camera-service $version"
phase prepare
disarm_probation
atomic_write "$LAST_ROLLBACK" "$version"
phase config
restore_config "$BACKUP_DIR/latest"
if $non_atomic; then
    # Fault knob: the live tree is rewritten in place from the previous release (code, then config).
    live=$(readlink -f "$INSTALL_DIR/current")
    phase stage
    say "fault non_atomic_upgrade: rewriting $live in place"
    copy_in_place "$RELEASES_DIR/$previous" "$live" code
    durable "$live"
    phase switch
    copy_in_place "$RELEASES_DIR/$previous" "$live" config
    durable "$live"
else
    phase switch
    switch_current "$previous"
fi
rm -f "$INSTALL_DIR/previous"
durable "$INSTALL_DIR"
finish "$version" || die "rolled back to $version but it does not answer; see journalctl -u camera-service"
restart_watchdog
say "rolled back to camera-service $version"
