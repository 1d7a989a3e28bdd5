#!/usr/bin/env bash
# Roll back to the previous release and restore the config backed up by the last upgrade.
# Usage: sudo ./rollback.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
    "") ;;
    -h|--help) sed -n '2,3p' "$0"; exit 0;;
    *) die "unknown argument '$1' (see --help)" 2;;
esac
need_root
[ -L "$INSTALL_DIR/previous" ] || die "no previous release to roll back to ($INSTALL_DIR/previous is missing)"
previous=$(readlink "$INSTALL_DIR/previous"); previous=${previous#releases/}
[ -d "$RELEASES_DIR/$previous" ] || die "previous release $previous is not in $RELEASES_DIR"
[ -d "$BACKUP_DIR/latest" ] || die "no config backup in $BACKUP_DIR/latest"

# Fault knob slow_rollback (self-tests of the rollback-time criterion): sleep before rolling back.
slow=""
if [ -f "$CONFIG_DIR/faults.env" ]; then
    slow=$(sed -n 's/^CAMERA_SERVICE_FAULT_SLOW_ROLLBACK=//p' "$CONFIG_DIR/faults.env" | tail -n 1)
fi
if [ -n "$slow" ] && [ "$slow" != 0 ]; then say "fault slow_rollback: sleeping ${slow} s"; sleep "$slow"; fi

say "rolling back to camera-service $previous"
systemctl stop camera-service || true
rm -rf "$CONFIG_DIR.restore"
cp -a "$(readlink -f "$BACKUP_DIR/latest")" "$CONFIG_DIR.restore"
rm -rf "$CONFIG_DIR"
mv "$CONFIG_DIR.restore" "$CONFIG_DIR"
environment=$(cat "$CONFIG_DIR/environment")
switch_current "$previous"
rm -f "$INSTALL_DIR/previous"
install_units "$RELEASES_DIR/$previous" "$environment"
restart_units
wait_healthy "$previous" || die "rolled back to $previous but it does not answer; see journalctl -u camera-service"
say "rolled back to camera-service $previous"
