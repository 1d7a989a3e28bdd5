#!/usr/bin/env bash
# Remove camera-service: units, releases, config. Recordings, snapshots and logs stay unless --purge
# (which also removes them and the service users).
# Usage: sudo ./uninstall.sh [--purge]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=false
while [ $# -gt 0 ]; do
    case "$1" in
        --purge) purge=true; shift;;
        -h|--help) sed -n '2,4p' "$0"; exit 0;;
        *) die "unknown argument '$1' (see --help)" 2;;
    esac
done
need_root

say "removing camera-service"
for unit in $WATCHDOG_UNIT $UNITS; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
    rm -f "/etc/systemd/system/$unit.service"
done
rm -rf /etc/systemd/system/camera-service.service.d
systemctl daemon-reload
systemctl reset-failed $UNITS $WATCHDOG_UNIT >/dev/null 2>&1 || true
rm -f /etc/logrotate.d/camera-service
rm -rf "$INSTALL_DIR"
if $purge; then
    rm -rf $DATA_DIRS "$LOG_DIR" /etc/default/camera-service-watchdog
    for user in "$SERVICE_USER" "$MEDIA_USER"; do
        if id "$user" >/dev/null 2>&1; then userdel "$user" >/dev/null 2>&1 || true; fi
    done
    say "purged data ($DATA_DIRS), logs and users"
else
    say "kept data in $DATA_DIRS and logs in $LOG_DIR (use --purge to remove them)"
fi
say "camera-service removed"
