#!/usr/bin/env bash
# Upgrade to this release: back up the config, switch `current`, restart, health-check; when the new
# release does not come up, roll back to the previous one by itself and exit non-zero.
# Usage: sudo ./upgrade.sh [--env ENV]   (default: the installed environment)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

environment=""
while [ $# -gt 0 ]; do
    case "$1" in
        --env|--environment) environment="${2:?--env needs a value}"; shift 2;;
        -h|--help) sed -n '2,4p' "$0"; exit 0;;
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
[ "$new" != "$old" ] || die "release $new is already current" 2
check_prerequisites

say "upgrading camera-service $old -> $new ($environment)"
backup="$BACKUP_DIR/$old-$(date -u +%Y%m%dT%H%M%SZ)"
install -d -m 0700 "$BACKUP_DIR"
cp -a "$CONFIG_DIR" "$backup"
ln -sfn "$backup" "$BACKUP_DIR/latest"
ln -sfn "releases/$old" "$INSTALL_DIR/previous"
say "config backed up to $backup"

place_release "$release" "$new"
install_config "$RELEASES_DIR/$new" "$environment"
switch_current "$new"
install_units "$RELEASES_DIR/$new" "$environment"
restart_units
if wait_healthy "$new"; then
    say "upgraded camera-service to $new (rollback.sh returns to $old)"
    exit 0
fi
say "camera-service $new failed its health check; rolling back to $old"
"$INSTALL_DIR/releases/$old/scripts/rollback.sh" || die "automatic rollback to $old FAILED" 3
die "upgrade to $new failed; rolled back to $old" 1
