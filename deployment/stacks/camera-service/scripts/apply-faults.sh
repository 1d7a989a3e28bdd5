#!/usr/bin/env bash
# Apply the fault knobs of config/faults.env (after writing or removing it; see the stack README): knobs
# that change how systemd runs the service become a drop-in (no_restart: Restart=no), the others are read
# by the processes when they start, so the service and the watchdog are restarted.
# Usage: sudo ./apply-faults.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
dropin=/etc/systemd/system/camera-service.service.d
if knob_on NO_RESTART; then
    install -d -m 0755 "$dropin"
    printf '[Service]\nRestart=no\n' > "$dropin/50-fault-no-restart.conf"
else
    rm -f "$dropin/50-fault-no-restart.conf"
fi
systemctl daemon-reload
systemctl restart camera-service
restart_watchdog
