# Shared by install.sh, upgrade.sh, rollback.sh, uninstall.sh and apply-faults.sh (sourced, not run).
# Layout: /opt/camera-service/{releases/<version>, current -> releases/<version>, previous, config/, backups/}
#
# Crash safety: an upgrade or rollback has one commit point, the rename of the `current` link. Everything
# before it is staged beside the running release and made durable (sync) first; everything release-owned
# in config/ is a link through `current`, so the switch changes code and release config at once. A power
# cut at any moment leaves exactly the old or the new release, and running the same script again finishes
# the job. Each phase prints `phase: NAME`, so a harness can cut exactly between phases.
INSTALL_DIR=${CAMERA_SERVICE_INSTALL_DIR:-/opt/camera-service}
CONFIG_DIR="$INSTALL_DIR/config"
RELEASES_DIR="$INSTALL_DIR/releases"
BACKUP_DIR="$INSTALL_DIR/backups"
LOG_DIR=/var/log/camera-service
DATA_DIRS="/var/recordings /var/snapshots"
SERVICE_USER=camera-service
MEDIA_USER=mediamtx
UNITS="mediamtx camera-service"
WATCHDOG_UNIT=camera-service-watchdog
PROBATION="$INSTALL_DIR/probation.json"
LAST_ROLLBACK="$INSTALL_DIR/last-rollback"
FAULTS_FILE="$CONFIG_DIR/faults.env"
HEALTH_TIMEOUT=${CAMERA_SERVICE_HEALTH_TIMEOUT:-60}
ENVIRONMENTS="development staging production"

STARTED_NS=$(date +%s%N)
# Messages carry the seconds since the script started, so slow steps show in the log.
say() { printf '%s [%5.1fs]: %s\n' "$(basename "$0")" "$(( ($(date +%s%N) - STARTED_NS) / 1000000 ))e-3" "$*"; }
die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit "${2:-1}"; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (use sudo)" 2; }

# A phase boundary: the marker line harnesses cut at (profile deployment.phase_marker). While a harness
# holds PHASE_HOLD/enabled (its PID inside, alive), the script waits at each marker until the harness has
# seen it and removed PHASE_HOLD/waiting (profile deployment.phase_hold), so a cut lands exactly there;
# without a harness it only prints. /run is cleared by a power cut, so a stale hold cannot survive one.
PHASE_HOLD=${CAMERA_SERVICE_PHASE_HOLD:-/run/camera-service-phase-hold}
phase() {
    local holder tries=0
    holder=$(cat "$PHASE_HOLD/enabled" 2>/dev/null) && [ -n "$holder" ] && kill -0 "$holder" 2>/dev/null \
        || { say "phase: $1"; return 0; }
    : > "$PHASE_HOLD/waiting" || die "cannot write $PHASE_HOLD/waiting"
    say "phase: $1"
    while [ -e "$PHASE_HOLD/waiting" ] && [ "$tries" -lt 600 ]; do sleep 0.05; tries=$((tries + 1)); done
}

# Make what was written so far durable: the file system's dirty data and metadata reach the disk.
durable() { sync -f "${1:-$INSTALL_DIR}" || die "sync of ${1:-$INSTALL_DIR} failed"; }

# An atomic symlink: a new link beside the old one, renamed over it, and the folder synced.
atomic_link() {
    local target="$1" link="$2"
    ln -sfn "$target" "$link.new" || die "cannot make link $link.new"
    mv -T "$link.new" "$link" || die "cannot rename $link.new over $link"
    durable "$(dirname "$link")"
}

# An atomic small file: written beside, synced, renamed over, folder synced.
atomic_write() {
    local path="$1" text="$2"
    printf '%s\n' "$text" > "$path.new" || die "cannot write $path.new"
    sync "$path.new" && mv -f "$path.new" "$path" || die "cannot replace $path"
    durable "$(dirname "$path")"
}

# A fault knob from config/faults.env (empty when unset): the scripts' own knobs (see the stack README).
fault_knob() {
    [ -f "$FAULTS_FILE" ] || return 0
    sed -n "s/^CAMERA_SERVICE_FAULT_$1=//p" "$FAULTS_FILE" | tail -n 1
}
knob_on() { case "$(fault_knob "$1")" in 1|true|yes|on) return 0;; *) return 1;; esac; }

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

# Copy a release tree into the release store, unpack its wheelhouse, check it and make it durable; sets
# PLACED to the folder name under releases/. A release already there with the same SHA256SUMS is kept;
# the running release is never rewritten (a different build of the running version goes beside it).
place_release() {
    local src="$1" version="$2" name="$2"
    install -d -m 0755 "$RELEASES_DIR"
    PLACED=$version
    if [ "$(readlink -f "$src")" = "$(readlink -f "$RELEASES_DIR/$name")" ]; then
        return 0            # running from the installed release itself: nothing to place
    fi
    if placed_as "$src" "$name"; then say "release $version already placed"; return 0; fi
    if [ "$(readlink -f "$INSTALL_DIR/current")" = "$(readlink -f "$RELEASES_DIR/$name")" ]; then
        name="$version+$(sha256sum "$src/SHA256SUMS" | cut -c1-8)"
        PLACED=$name
        if placed_as "$src" "$name"; then return 0; fi
    fi
    local dest="$RELEASES_DIR/$name"
    rm -rf "$dest.new"
    cp -a "$src" "$dest.new"
    unpack_release "$dest.new" "$version"
    rm -rf "$dest"
    mv "$dest.new" "$dest"
    durable "$RELEASES_DIR"
}

# Is releases/NAME this very release, complete (same SHA256SUMS, every file checks)?
placed_as() {
    local src="$1" dest="$RELEASES_DIR/$2"
    [ -d "$dest" ] && cmp -s "$src/SHA256SUMS" "$dest/SHA256SUMS" \
        && (cd "$dest" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1)
}

# Unpack the wheelhouse into lib/, compile, fix owners and modes, check SHA256SUMS (before it goes live).
unpack_release() {
    local dest="$1" version="$2"
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
    (cd "$dest" && sha256sum --quiet --strict -c SHA256SUMS) || die "release $version in $dest fails its SHA256SUMS"
    durable "$dest"
}

# Release-owned config files are links through `current` (they switch with it, atomically); site files
# (environment, secrets, keys, faults, TLS) are the device's own and are kept.
install_config() {
    local release="$1" environment="$2"
    install -d -m 0750 -o root -g "$SERVICE_USER" "$CONFIG_DIR"
    ensure_config_links "$release"
    write_environment "$environment"
    if [ ! -s "$CONFIG_DIR/secrets.env" ]; then
        umask 077
        printf 'CAMERA_SERVICE_JWT_SECRET=%s\n' "$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')" \
            > "$CONFIG_DIR/secrets.env.new"
        umask 022
        sync "$CONFIG_DIR/secrets.env.new"
        mv -f "$CONFIG_DIR/secrets.env.new" "$CONFIG_DIR/secrets.env"
        say "generated a new JWT secret in $CONFIG_DIR/secrets.env"
    fi
    chown root:root "$CONFIG_DIR/secrets.env"
    chmod 0600 "$CONFIG_DIR/secrets.env"
    [ -e "$CONFIG_DIR/api-keys.json" ] || atomic_write "$CONFIG_DIR/api-keys.json" '[]'
    chown "$SERVICE_USER:$SERVICE_USER" "$CONFIG_DIR/api-keys.json"
    chmod 0600 "$CONFIG_DIR/api-keys.json"
    if [ "$environment" = production ]; then ensure_tls; fi
    durable "$CONFIG_DIR"
}

# config/<name>.yaml -> current/config/<name>.yaml for every config file of the release.
ensure_config_links() {
    local release="$1" file name
    install -d -m 0750 -o root -g "$SERVICE_USER" "$CONFIG_DIR"
    for file in "$release"/config/*.yaml; do
        name=$(basename "$file")
        [ "$(readlink "$CONFIG_DIR/$name" 2>/dev/null)" = "$INSTALL_DIR/current/config/$name" ] \
            || atomic_link "$INSTALL_DIR/current/config/$name" "$CONFIG_DIR/$name"
    done
}

write_environment() {
    [ "$(cat "$CONFIG_DIR/environment" 2>/dev/null)" = "$1" ] || atomic_write "$CONFIG_DIR/environment" "$1"
}

# Put the config dir back as in a backup, entry by entry (each replaced atomically, extras removed), so
# a cut half-way leaves every file whole.
restore_config() {
    python3 - "$1" "$CONFIG_DIR" <<'PY' || die "cannot restore the configuration from $1"
import os, shutil, stat, sys

def fsync(path, flags=os.O_RDONLY):
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

def mirror(src, dst):
    st = os.lstat(src)
    if os.path.islink(dst) or (os.path.lexists(dst) and not os.path.isdir(dst)):
        os.unlink(dst)
    os.makedirs(dst, exist_ok=True)
    os.chmod(dst, stat.S_IMODE(st.st_mode))
    os.chown(dst, st.st_uid, st.st_gid)
    names = sorted(os.listdir(src))
    for name in names:
        s, d = os.path.join(src, name), os.path.join(dst, name)
        info = os.lstat(s)
        if stat.S_ISDIR(info.st_mode):
            mirror(s, d)
            continue
        tmp = os.path.join(dst, "." + name + ".restore")
        if os.path.lexists(tmp):
            os.unlink(tmp)
        if stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(s), tmp)
        else:
            shutil.copy2(s, tmp)
            fsync(tmp)
        os.lchown(tmp, info.st_uid, info.st_gid)
        if os.path.isdir(d) and not os.path.islink(d):
            shutil.rmtree(d)
        os.replace(tmp, d)
    for name in set(os.listdir(dst)) - set(names):
        path = os.path.join(dst, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    fsync(dst)

mirror(os.path.realpath(sys.argv[1]), sys.argv[2])
PY
}

# After a verified upgrade the watchdog watches the new release (see camera_service.watchdog).
arm_probation() {
    atomic_write "$PROBATION" "{\"release\": \"$1\", \"previous\": \"$2\", \"armed\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
}

disarm_probation() {
    if [ -e "$PROBATION" ] || [ -e "$PROBATION.progress" ]; then
        rm -f "$PROBATION" "$PROBATION.progress"
        durable "$INSTALL_DIR"
    fi
}

restart_watchdog() {
    if systemctl cat "$WATCHDOG_UNIT" >/dev/null 2>&1; then systemctl restart "$WATCHDOG_UNIT" || true; fi
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
    if [ -e "$release/systemd/$WATCHDOG_UNIT.service.in" ]; then
        sed -e "s|@INSTALL_DIR@|$INSTALL_DIR|g" "$release/systemd/$WATCHDOG_UNIT.service.in" \
            > "/etc/systemd/system/$WATCHDOG_UNIT.service.new"
        chmod 0644 "/etc/systemd/system/$WATCHDOG_UNIT.service.new"
        mv -f "/etc/systemd/system/$WATCHDOG_UNIT.service.new" "/etc/systemd/system/$WATCHDOG_UNIT.service"
    fi
    install -m 0644 "$release/logrotate/camera-service" /etc/logrotate.d/camera-service
    durable /etc/systemd/system
    systemctl daemon-reload
    systemctl enable $UNITS >/dev/null 2>&1 || die "cannot enable units $UNITS"
    if [ -e "/etc/systemd/system/$WATCHDOG_UNIT.service" ]; then
        systemctl enable "$WATCHDOG_UNIT" >/dev/null 2>&1 || die "cannot enable $WATCHDOG_UNIT"
    fi
}

# The commit point of install, upgrade and rollback: `current` renamed to the release (atomic, synced).
switch_current() {
    atomic_link "releases/$1" "$INSTALL_DIR/current"
}

# Fault knob non_atomic_upgrade: rewrite the live release tree in place from another release, code first
# (everything but config/ and SHA256SUMS), then config, the checksums last: a cut between the two parts
# leaves a mix. Callers make each part durable before the next phase marker, so a cut at `phase: switch`
# finds the code part on disk (unsynced, it would be lost with the guest's page cache and the tree whole).
copy_in_place() {
    local src="$1" live="$2" part="$3"
    if [ "$part" = code ]; then
        (cd "$src" && tar -cf - --exclude=./config --exclude=./SHA256SUMS --exclude=./lib .) | (cd "$live" && tar -xf -)
    else
        cp -a "$src/config/." "$live/config/" && cp -a "$src/SHA256SUMS" "$live/SHA256SUMS"
    fi
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
