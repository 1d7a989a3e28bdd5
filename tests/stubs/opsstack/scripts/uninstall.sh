#!/bin/sh
# uninstall.sh ROOT PORT: stop everything, remove the code; data stays.
set -eu
root=$1; port=$2
if [ -x "$root/current/scripts/ctl.sh" ] || [ -f "$root/current/scripts/ctl.sh" ]; then
    sh "$root/current/scripts/ctl.sh" "$root" "$port" stop all
fi
rm -rf "$root/releases" "$root/current"
