#!/usr/bin/env bash
# Remove capture-service: unit, releases and config. Keeps the captures, the transfers and the logs
# unless --purge (which removes them and the user too).
# Usage: sudo ./uninstall.sh [--purge]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
purge=""
case "${1:-}" in --purge) purge=yes;; "") ;; *) die "unknown argument '$1'" 2;; esac
need_root
systemctl disable --now --quiet "$UNIT" 2>/dev/null || true
rm -rf "/etc/systemd/system/$UNIT.service" "/etc/systemd/system/$UNIT.service.d" "/etc/logrotate.d/$UNIT"
systemctl daemon-reload
cd /
rm -rf "$INSTALL_DIR"
if [ -n "$purge" ]; then
    rm -rf $DATA_DIRS "$LOG_DIR"
    userdel "$SERVICE_USER" 2>/dev/null || true
fi
say "uninstalled capture-service${purge:+ (purged)}"
