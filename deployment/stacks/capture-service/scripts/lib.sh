# Shared by install.sh, upgrade.sh, rollback.sh, uninstall.sh and apply-faults.sh (sourced, not run).
# Layout: /opt/capture-service/{releases/<version>, current -> releases/<version>, previous, config/}
#
# One commit point per operation: the rename of the `current` link. The new release is staged beside the
# running one (unpacked, compiled, checked against SHA256SUMS, synced, renamed) before it; a power cut
# leaves the old or the new release, whole. Each phase prints `phase: NAME` (profile deployment.phase_marker).
INSTALL_DIR=${CAPTURE_SERVICE_INSTALL_DIR:-/opt/capture-service}
CONFIG_DIR="$INSTALL_DIR/config"
RELEASES_DIR="$INSTALL_DIR/releases"
LOG_DIR=/var/log/capture-service
DATA_DIRS="/var/captures /var/transfers"
SERVICE_USER=capture-service
UNIT=capture-service
HEALTH_URL=${CAPTURE_SERVICE_HEALTH_URL:-http://127.0.0.1:8090/health}
HEALTH_TIMEOUT=${CAPTURE_SERVICE_HEALTH_TIMEOUT:-45}
ENVIRONMENTS="development staging production"

STARTED_NS=$(date +%s%N)
say() { printf '%s [%5.1fs]: %s\n' "$(basename "$0")" "$(( ($(date +%s%N) - STARTED_NS) / 1000000 ))e-3" "$*"; }
die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit "${2:-1}"; }
need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (use sudo)" 2; }
phase() { say "phase: $1"; }
durable() { sync -f "${1:-$INSTALL_DIR}" || die "sync of ${1:-$INSTALL_DIR} failed"; }

# A link replaced atomically: made beside, renamed over, its folder synced.
atomic_link() {
    ln -sfn "$1" "$2.new" || die "cannot make link $2.new"
    mv -T "$2.new" "$2" || die "cannot rename $2.new over $2"
    durable "$(dirname "$2")"
}

# A small file replaced atomically.
atomic_write() {
    printf '%s\n' "$2" > "$1.new" || die "cannot write $1.new"
    sync "$1.new" && mv -f "$1.new" "$1" || die "cannot replace $1"
    durable "$(dirname "$1")"
}

check_environment() {
    case " $ENVIRONMENTS " in *" $1 "*) ;; *) die "unknown environment '$1' (expected one of: $ENVIRONMENTS)" 2;; esac
}

release_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

check_prerequisites() {
    command -v python3 >/dev/null || die "python3 is not installed (needed: Python >= 3.11)"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 is older than 3.11"
    command -v ffmpeg >/dev/null || die "ffmpeg is not installed (apt-get install ffmpeg): it captures the stills"
    command -v systemctl >/dev/null || die "systemd is required"
}

ensure_user() {
    getent group video >/dev/null || groupadd --system video
    id "$SERVICE_USER" >/dev/null 2>&1 || useradd --system --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin "$SERVICE_USER"
    usermod -a -G video "$SERVICE_USER"
}

ensure_dirs() {
    install -d -m 0755 "$INSTALL_DIR" "$RELEASES_DIR"
    install -d -m 0750 -o root -g "$SERVICE_USER" "$CONFIG_DIR"
    install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$LOG_DIR"
    for dir in $DATA_DIRS; do install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$dir"; done
}

# Copy the release into releases/<version>, unpack its wheels, compile, check SHA256SUMS, make it durable.
# A release already placed whole (same SHA256SUMS, every file checks) is kept as it is.
place_release() {
    local src="$1" version="$2" dest="$RELEASES_DIR/$2"
    if [ "$(readlink -f "$src")" = "$(readlink -f "$dest")" ]; then return 0; fi
    if [ -d "$dest" ] && cmp -s "$src/SHA256SUMS" "$dest/SHA256SUMS" \
            && (cd "$dest" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1); then
        say "release $version already placed"; return 0
    fi
    [ "$(readlink -f "$INSTALL_DIR/current")" != "$(readlink -f "$dest")" ] \
        || die "release $version is running and differs from this build; uninstall it first"
    rm -rf "$dest.new"
    cp -a "$src" "$dest.new"
    install -d -m 0755 "$dest.new/lib"
    python3 - "$dest.new" <<'PY' || die "cannot unpack the wheelhouse of $version"
import compileall, pathlib, sys, zipfile
dest = pathlib.Path(sys.argv[1])
wheels = sorted((dest / "wheelhouse").glob("*.whl"))
for wheel in wheels:
    zipfile.ZipFile(wheel).extractall(dest / "lib")
ok = bool(wheels) and all(compileall.compile_dir(str(dest / part), quiet=1) for part in ("src", "lib"))
sys.exit(0 if ok else 1)
PY
    chown -R root:root "$dest.new"
    chmod -R go-w "$dest.new"
    (cd "$dest.new" && sha256sum --quiet --strict -c SHA256SUMS) || die "release $version fails its SHA256SUMS"
    durable "$dest.new"
    rm -rf "$dest"
    mv "$dest.new" "$dest"
    durable "$RELEASES_DIR"
}

# Site config: the environment and the JWT secret (made once, kept across upgrades); the release's
# own files in config/ are links through `current`, so they switch with it.
install_config() {
    local environment="$1"
    for name in base.yaml release.yaml development.yaml staging.yaml production.yaml; do
        [ -L "$CONFIG_DIR/$name" ] || atomic_link "$INSTALL_DIR/current/config/$name" "$CONFIG_DIR/$name"
    done
    atomic_write "$CONFIG_DIR/environment" "$environment"
    if [ ! -s "$CONFIG_DIR/secrets.env" ]; then
        umask 077
        atomic_write "$CONFIG_DIR/secrets.env" "CAPTURE_SERVICE_JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
        umask 022
    fi
    # systemd (root) reads the secret into the service's environment: the service user needs no access.
    chown root:root "$CONFIG_DIR/secrets.env"
    chmod 0600 "$CONFIG_DIR/secrets.env"
    chown root:"$SERVICE_USER" "$CONFIG_DIR/environment"
    chmod 0644 "$CONFIG_DIR/environment"
}

install_units() {
    local release="$1" environment="$2" changed=""
    sed -e "s|@INSTALL_DIR@|$INSTALL_DIR|g" -e "s|@ENVIRONMENT@|$environment|g" \
        "$release/systemd/$UNIT.service.in" > "/etc/systemd/system/$UNIT.service.new"
    cmp -s "/etc/systemd/system/$UNIT.service.new" "/etc/systemd/system/$UNIT.service" || changed=yes
    mv -f "/etc/systemd/system/$UNIT.service.new" "/etc/systemd/system/$UNIT.service"
    install -m 0644 "$release/logrotate/$UNIT" "/etc/logrotate.d/$UNIT"
    durable /etc/systemd/system
    [ -z "$changed" ] || systemctl daemon-reload
    systemctl enable --quiet "$UNIT"
}

# Wait until the health endpoint answers ready and the service says it is `version`.
wait_healthy() {
    local version="$1" deadline=$(( $(date +%s) + HEALTH_TIMEOUT ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if systemctl is-active --quiet "$UNIT" && python3 - "$HEALTH_URL" <<'PY' 2>/dev/null
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=3) as answer:
    sys.exit(0 if json.load(answer).get("status") == "ready" else 1)
PY
        then
            [ "$(cat "$INSTALL_DIR/current/VERSION")" = "$version" ] && { say "ready on $version"; return 0; }
        fi
        sleep 0.5
    done
    say "not ready within ${HEALTH_TIMEOUT} s; last log lines:"
    journalctl -u "$UNIT" -n 10 --no-pager 2>/dev/null || true
    return 1
}
