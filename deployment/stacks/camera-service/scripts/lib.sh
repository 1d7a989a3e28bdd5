# Shared by install.sh, upgrade.sh, rollback.sh and uninstall.sh (sourced, not run).
# Layout: /opt/camera-service/{releases/<version>, current -> releases/<version>, previous, config/, backups/}
INSTALL_DIR=${CAMERA_SERVICE_INSTALL_DIR:-/opt/camera-service}
CONFIG_DIR="$INSTALL_DIR/config"
RELEASES_DIR="$INSTALL_DIR/releases"
BACKUP_DIR="$INSTALL_DIR/backups"
LOG_DIR=/var/log/camera-service
DATA_DIRS="/var/recordings /var/snapshots"
SERVICE_USER=camera-service
MEDIA_USER=mediamtx
UNITS="mediamtx camera-service"
HEALTH_TIMEOUT=${CAMERA_SERVICE_HEALTH_TIMEOUT:-60}
ENVIRONMENTS="development staging production"

STARTED_NS=$(date +%s%N)
# Messages carry the seconds since the script started, so slow steps show in the log.
say() { printf '%s [%5.1fs]: %s\n' "$(basename "$0")" "$(( ($(date +%s%N) - STARTED_NS) / 1000000 ))e-3" "$*"; }
die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit "${2:-1}"; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (use sudo)" 2; }

check_environment() {
    case " $ENVIRONMENTS " in *" $1 "*) ;; *) die "unknown environment '$1' (expected one of: $ENVIRONMENTS)" 2;; esac
}

# The release this script belongs to: the folder above scripts/.
release_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }
release_version() { cat "$1/VERSION"; }

check_prerequisites() {
    command -v python3 >/dev/null || die "python3 is not installed (needed: Python >= 3.11)"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 is older than 3.11"
    command -v ffmpeg >/dev/null || die "ffmpeg is not installed (apt-get install ffmpeg)"
    command -v ustreamer >/dev/null || die "ustreamer is not installed (apt-get install ustreamer)"
    command -v systemctl >/dev/null || die "systemd is required"
}

ensure_users() {
    getent group video >/dev/null || groupadd --system video
    for user in "$SERVICE_USER" "$MEDIA_USER"; do
        if ! id "$user" >/dev/null 2>&1; then
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin --groups video "$user"
        else
            usermod -a -G video "$user"
        fi
    done
}

# Copy a release tree to releases/<version> and unpack its wheelhouse (no registry needed).
place_release() {
    local src="$1" version="$2" dest="$RELEASES_DIR/$2"
    install -d -m 0755 "$RELEASES_DIR"
    if [ "$(readlink -f "$src")" != "$(readlink -f "$dest")" ]; then
        rm -rf "$dest.new"
        cp -a "$src" "$dest.new"
        rm -rf "$dest"
        mv "$dest.new" "$dest"
    fi
    rm -rf "$dest/lib"
    install -d -m 0755 "$dest/lib"
    ls "$dest"/wheelhouse/*.whl >/dev/null 2>&1 || die "release $version has an empty wheelhouse"
    # Unpack the wheels and compile everything once, as root: the service user cannot write
    # __pycache__ in the release, and compiling on every start is slow on a small board.
    python3 - "$dest" <<'PY' || die "cannot unpack the wheelhouse of $version"
import compileall, pathlib, sys, zipfile
dest = pathlib.Path(sys.argv[1])
for wheel in sorted((dest / "wheelhouse").glob("*.whl")):
    zipfile.ZipFile(wheel).extractall(dest / "lib")
ok = all(compileall.compile_dir(str(dest / part), quiet=1) for part in ("src", "lib"))
sys.exit(0 if ok else 1)
PY
    chown -R root:root "$dest"
    chmod -R go-w "$dest"
}

# Release-owned config files are replaced; site files (secrets, keys, faults, TLS) are kept.
install_config() {
    local release="$1" environment="$2"
    install -d -m 0750 -o root -g "$SERVICE_USER" "$CONFIG_DIR"
    local f
    for f in "$release"/config/*.yaml; do
        install -m 0640 -o root -g "$SERVICE_USER" "$f" "$CONFIG_DIR/"
    done
    [ -e "$release/config/release.yaml" ] || rm -f "$CONFIG_DIR/release.yaml"
    echo "$environment" > "$CONFIG_DIR/environment"
    if [ ! -s "$CONFIG_DIR/secrets.env" ]; then
        umask 077
        printf 'CAMERA_SERVICE_JWT_SECRET=%s\n' "$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')" \
            > "$CONFIG_DIR/secrets.env"
        umask 022
        say "generated a new JWT secret in $CONFIG_DIR/secrets.env"
    fi
    chown root:root "$CONFIG_DIR/secrets.env"
    chmod 0600 "$CONFIG_DIR/secrets.env"
    [ -e "$CONFIG_DIR/api-keys.json" ] || echo '[]' > "$CONFIG_DIR/api-keys.json"
    chown "$SERVICE_USER:$SERVICE_USER" "$CONFIG_DIR/api-keys.json"
    chmod 0600 "$CONFIG_DIR/api-keys.json"
    if [ "$environment" = production ]; then ensure_tls; fi
}

# Production serves wss://: a self-signed certificate is made once with openssl (Debian's
# ca-certificates depends on openssl, so it is on every device with TLS roots) unless one is present.
ensure_tls() {
    local dir="$CONFIG_DIR/tls"
    install -d -m 0750 -o root -g "$SERVICE_USER" "$dir"
    if [ ! -s "$dir/server.crt" ] || [ ! -s "$dir/server.key" ]; then
        command -v openssl >/dev/null || die "production needs TLS: install openssl or place server.crt/server.key in $dir"
        openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$(hostname)" \
            -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1 || die "openssl could not make a certificate"
        say "generated a self-signed TLS certificate in $dir"
    fi
    chown "root:$SERVICE_USER" "$dir/server.crt" "$dir/server.key"
    chmod 0644 "$dir/server.crt"
    chmod 0640 "$dir/server.key"
}

ensure_dirs() {
    local dir
    for dir in $DATA_DIRS; do
        install -d -m 0755 -o "$SERVICE_USER" -g "$SERVICE_USER" "$dir"
    done
    install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$LOG_DIR"
}

install_units() {
    local release="$1" environment="$2" unit file
    MEDIA_UNIT_CHANGED=0
    for unit in $UNITS; do
        file="/etc/systemd/system/$unit.service"
        sed -e "s|@INSTALL_DIR@|$INSTALL_DIR|g" -e "s|@ENVIRONMENT@|$environment|g" \
            "$release/systemd/$unit.service.in" > "$file.new"
        chmod 0644 "$file.new"
        if ! cmp -s "$file.new" "$file"; then
            [ "$unit" != mediamtx ] || MEDIA_UNIT_CHANGED=1
        fi
        mv -f "$file.new" "$file"
    done
    install -m 0644 "$release/logrotate/camera-service" /etc/logrotate.d/camera-service
    systemctl daemon-reload
    systemctl enable $UNITS >/dev/null 2>&1 || die "cannot enable units $UNITS"
}

switch_current() {
    ln -sfn "releases/$1" "$INSTALL_DIR/current.new"
    mv -T "$INSTALL_DIR/current.new" "$INSTALL_DIR/current"
}

# The service always restarts; the media unit only when its unit file changed or it is not running.
restart_units() {
    if [ "${MEDIA_UNIT_CHANGED:-1}" = 1 ] || ! systemctl is-active --quiet mediamtx; then
        systemctl restart mediamtx || true
    fi
    systemctl restart camera-service || true
}

# Wait until the health server of `version` answers (any status: the camera may be missing, which
# /health/ready reports honestly); prints readiness. Non-zero when the service never came up.
wait_healthy() {
    local version="$1" timeout="${2:-$HEALTH_TIMEOUT}"
    PYTHONPATH="$INSTALL_DIR/current/src:$INSTALL_DIR/current/lib" python3 - "$CONFIG_DIR" "$version" "$timeout" <<'PY'
import json, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path
from camera_service import config
config_dir, version, timeout = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
cfg = config.load(config_dir, (config_dir / "environment").read_text().strip(), environ={})
host = cfg["health"]["host"]
host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
base = f"http://{host}:{cfg['health']['port']}/health/"
deadline, last = time.monotonic() + timeout, "no answer"
while time.monotonic() < deadline:
    # a unit that failed for good (exit 2/3 are not restarted) will not come up: stop waiting
    if subprocess.run(["systemctl", "is-failed", "--quiet", "camera-service"]).returncode == 0:
        last = "unit camera-service failed: " + subprocess.run(
            ["journalctl", "-u", "camera-service", "-n", "3", "--no-pager", "-o", "cat"],
            capture_output=True, text=True).stdout.strip().replace("\n", " | ")
        break
    try:
        answer = urllib.request.urlopen(base + "ready", timeout=3)
    except urllib.error.HTTPError as exc:
        answer = exc
    except OSError as exc:
        last = str(exc)
        time.sleep(0.3)
        continue
    server = answer.headers.get("Server", "")
    if server != f"camera-service/{version}":
        last = f"health server is {server!r}, expected camera-service/{version}"
        time.sleep(0.3)
        continue
    body = json.loads(answer.read() or b"{}")
    print(f"camera-service {version} is up; readiness: {body.get('status')} (HTTP {answer.status})")
    sys.exit(0)
print(f"camera-service {version} did not come up: {last}", file=sys.stderr)
sys.exit(1)
PY
}
