#!/usr/bin/env bash
# Install this release of capture-service: user, folders, release, config, unit; then wait until ready.
# Usage: sudo ./install.sh [--env development|staging|production]
# Idempotent: running it again keeps the JWT secret and the data; the switch of `current` is its commit point.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

environment=development
while [ $# -gt 0 ]; do
    case "$1" in
        --env|--environment) environment="${2:?--env needs a value}"; shift 2;;
        -h|--help) sed -n '2,4p' "$0"; exit 0;;
        *) die "unknown argument '$1' (see --help)" 2;;
    esac
done
need_root
check_environment "$environment"
release=$(release_root)
version=$(cat "$release/VERSION")
check_prerequisites
say "installing capture-service $version ($environment)"
ensure_user
ensure_dirs
phase stage
place_release "$release" "$version"
phase switch
atomic_link "releases/$version" "$INSTALL_DIR/current"
rm -f "$INSTALL_DIR/previous"
install_config "$environment"
phase units
install_units "$RELEASES_DIR/$version" "$environment"
phase restart
systemctl restart "$UNIT"
phase verify
wait_healthy "$version" || die "capture-service $version was installed but is not ready; see journalctl -u $UNIT"
say "installed capture-service $version"
