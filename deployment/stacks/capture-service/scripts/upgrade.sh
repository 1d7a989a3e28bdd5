#!/usr/bin/env bash
# Upgrade to this release: stage it beside the running one, switch `current`, restart, wait until ready.
# Usage: sudo ./upgrade.sh [--env development|staging|production]
# A release that does not become ready is rolled back at once (rollback.sh) and the script exits 1.
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
[ -L "$INSTALL_DIR/current" ] || die "capture-service is not installed (run install.sh)" 2
environment=${environment:-$(cat "$CONFIG_DIR/environment")}
check_environment "$environment"
release=$(release_root)
version=$(cat "$release/VERSION")
running=$(basename "$(readlink "$INSTALL_DIR/current")")
check_prerequisites
say "upgrading capture-service $running -> $version ($environment)"
phase stage
place_release "$release" "$version"
phase switch
[ "$running" = "$version" ] || atomic_link "releases/$running" "$INSTALL_DIR/previous"
atomic_link "releases/$version" "$INSTALL_DIR/current"
install_config "$environment"
phase units
install_units "$RELEASES_DIR/$version" "$environment"
phase restart
systemctl restart "$UNIT"
phase verify
if ! wait_healthy "$version"; then
    say "capture-service $version is not ready: rolling back to $running"
    "$INSTALL_DIR/previous/scripts/rollback.sh" || die "the rollback to $running failed too"
    die "upgrade to $version failed; back on $running"
fi
say "upgraded capture-service to $version"
