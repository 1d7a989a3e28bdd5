#!/usr/bin/env bash
# Install this release of camera-service: users, files, config, units; then wait until it answers.
# Usage: sudo ./install.sh [--env development|staging|production] [--version V]
# Idempotent: running it again re-installs the same release and keeps secrets, API keys and data; the
# switch of `current` is its commit point, so a power cut leaves the old or the new release, whole.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

environment=development
version=""
while [ $# -gt 0 ]; do
    case "$1" in
        --env|--environment) environment="${2:?--env needs a value}"; shift 2;;
        --version) version="${2:?--version needs a value}"; shift 2;;
        -h|--help) sed -n '2,4p' "$0"; exit 0;;
        *) die "unknown argument '$1' (see --help)" 2;;
    esac
done
need_root
check_environment "$environment"
release=$(release_root)
actual=$(release_version "$release")
[ -z "$version" ] || [ "$version" = "$actual" ] || die "this is release $actual, not $version" 2
check_prerequisites

say "installing camera-service $actual ($environment)"
ensure_users
ensure_dirs
phase stage
place_release "$release" "$actual"
phase switch
install_config "$RELEASES_DIR/$PLACED" "$environment"
disarm_probation
switch_current "$PLACED"
phase units
install_units "$RELEASES_DIR/$PLACED" "$environment"
phase restart
restart_units
phase verify
wait_healthy "$actual" || die "camera-service $actual was installed but does not answer; see journalctl -u camera-service"
restart_watchdog
say "installed camera-service $actual"
