#!/usr/bin/env bash
# Return to the release before the last upgrade: switch `current` back, restart, wait until ready.
# Usage: sudo ./rollback.sh
# Releases that were rolled back from stay in releases/ (a later upgrade to them places nothing again).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
[ -L "$INSTALL_DIR/previous" ] || die "no previous release to roll back to" 2
target=$(basename "$(readlink "$INSTALL_DIR/previous")")
[ -d "$RELEASES_DIR/$target" ] || die "the previous release $target is missing from $RELEASES_DIR"
environment=$(cat "$CONFIG_DIR/environment")
say "rolling back capture-service to $target ($environment)"
phase switch
atomic_link "releases/$target" "$INSTALL_DIR/current"
rm -f "$INSTALL_DIR/previous"
durable "$INSTALL_DIR"
phase units
install_units "$RELEASES_DIR/$target" "$environment"
phase restart
systemctl restart "$UNIT"
phase verify
wait_healthy "$target" || die "capture-service $target is not ready after the rollback; see journalctl -u $UNIT"
say "rolled back capture-service to $target"
