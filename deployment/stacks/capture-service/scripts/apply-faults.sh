#!/usr/bin/env bash
# Apply the fault knobs of config/faults.env (after writing or removing it): the service reads them
# when it starts, so it is restarted.
# Usage: sudo ./apply-faults.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
systemctl restart "$UNIT"
