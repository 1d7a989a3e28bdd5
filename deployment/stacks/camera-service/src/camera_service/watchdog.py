"""The release watchdog: a release on probation is rolled back by itself when it crash-loops or fails its
health check, and committed once it has been ready long enough.

`upgrade.sh` arms the probation (`<install>/probation.json`: release, previous) after a verified upgrade;
rollback and install disarm it. Runs as root (unit `camera-service-watchdog`):
`python3 -m camera_service.watchdog --install-dir /opt/camera-service`. Its rollback triggers, as the
profile declares them (`resilience.rollback_triggers`):

- `crash_loop`: the service was restarted by systemd (`NRestarts`) `restarts` times within `window_s`;
- `failing_health`: /health/ready answered not_ready for `window_s` without a ready answer in between (a
  service that does not answer at all is the crash loop's business, so silence does not count).

A trigger runs `current/scripts/rollback.sh` as its own transient unit (so restarting the watchdog cannot
cut it short). The release is committed after `probation_ready_s` seconds of ready answers in total
(kept in `probation.json.progress`, so a reboot does not restart the count). Settings: the config's
`watchdog` section, overridden by CAMERA_SERVICE_WATCHDOG_<KEY> (from /etc/default/camera-service-watchdog):
PROBATION_READY_S, POLL_S, CRASH_LOOP_RESTARTS, CRASH_LOOP_WINDOW_S, FAILING_HEALTH_WINDOW_S.
Fault knob `auto_rollback_off` (faults.env): a trigger is logged and nothing is rolled back.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from camera_service import config as config_mod

log = logging.getLogger("camera_service.watchdog")
ENV_PREFIX = "CAMERA_SERVICE_WATCHDOG_"
KNOB = "CAMERA_SERVICE_FAULT_AUTO_ROLLBACK_OFF"


@dataclass(frozen=True)
class Settings:
    probation_ready_s: float = 120.0
    poll_s: float = 1.0
    crash_loop_restarts: int = 3
    crash_loop_window_s: float = 120.0
    failing_health_window_s: float = 45.0

    @classmethod
    def from_config(cls, section: dict | None, environ: dict) -> Settings:
        section = section or {}
        values = {"probation_ready_s": section.get("probation_ready_s"), "poll_s": section.get("poll_s"),
                  "crash_loop_restarts": (section.get("crash_loop") or {}).get("restarts"),
                  "crash_loop_window_s": (section.get("crash_loop") or {}).get("window_s"),
                  "failing_health_window_s": (section.get("failing_health") or {}).get("window_s")}
        for name in values:
            if environ.get(ENV_PREFIX + name.upper()):
                values[name] = environ[ENV_PREFIX + name.upper()]
        kinds = {f: type(getattr(cls(), f)) for f in values}
        return cls(**{k: kinds[k](v) for k, v in values.items() if v is not None})


@dataclass(frozen=True)
class Decision:
    action: str            # "commit" | "rollback"
    trigger: str = ""
    reason: str = ""


@dataclass
class Probation:
    """Decisions from what is observed each poll (pure: no clock, no I/O of its own)."""

    settings: Settings
    ready_s: float = 0.0
    restarts_seen: int | None = None
    restart_times: list = field(default_factory=list)
    not_ready_since: float | None = None
    last: float | None = None

    def observe(self, now: float, ready: bool | None, restarts: int | None) -> Decision | None:
        """`ready`: True ready, False answered not_ready, None no answer; `restarts`: systemd's NRestarts."""
        s = self.settings
        if restarts is not None:
            if self.restarts_seen is not None and restarts > self.restarts_seen:
                self.restart_times += [now] * (restarts - self.restarts_seen)
            self.restarts_seen = restarts
        self.restart_times = [t for t in self.restart_times if now - t <= s.crash_loop_window_s]
        elapsed = now - self.last if self.last is not None else 0.0
        self.last = now
        if len(self.restart_times) >= s.crash_loop_restarts:
            return Decision("rollback", "crash_loop", f"{len(self.restart_times)} automatic restarts within "
                            f"{s.crash_loop_window_s:.0f} s (limit {s.crash_loop_restarts})")
        if ready is True:
            self.not_ready_since = None
            self.ready_s += elapsed
            if self.ready_s >= s.probation_ready_s:
                return Decision("commit", reason=f"ready for {self.ready_s:.0f} s on probation")
        elif ready is False:
            self.not_ready_since = now if self.not_ready_since is None else self.not_ready_since
            if now - self.not_ready_since >= s.failing_health_window_s:
                return Decision("rollback", "failing_health", f"not ready for {now - self.not_ready_since:.0f} s "
                                f"(limit {s.failing_health_window_s:.0f} s)")
        return None


class Watchdog:
    def __init__(self, install_dir: Path, environ: dict):
        self.install = install_dir
        self.config_dir = install_dir / "config"
        self.environ = environ
        self.armed = install_dir / "probation.json"
        self.progress = install_dir / "probation.json.progress"
        self.probation: Probation | None = None
        self.stamp: str | None = None
        self.settings = Settings()
        self.saved_at = 0.0

    def _config(self) -> dict:
        environment = (self.config_dir / "environment").read_text().strip()
        return config_mod.load(self.config_dir, environment, environ={})

    def ready(self, url: str) -> bool | None:
        try:
            answer = urllib.request.urlopen(url, timeout=3)
        except urllib.error.HTTPError as exc:
            answer = exc
        except OSError:
            return None
        try:
            body = json.loads(answer.read() or b"{}")
        except ValueError:
            return False
        return 200 <= answer.status < 300 and body.get("status") == "ready"

    @staticmethod
    def restarts() -> int | None:
        out = subprocess.run(["systemctl", "show", "-p", "NRestarts", "--value", "camera-service"],
                             capture_output=True, text=True).stdout.strip()
        return int(out) if out.isdigit() else None

    def knob_off(self) -> bool:
        try:
            lines = (self.config_dir / "faults.env").read_text().splitlines()
        except OSError:
            return False
        values = [line.split("=", 1)[1].strip() for line in lines if line.startswith(KNOB + "=")]
        return bool(values) and values[-1].lower() in ("1", "true", "yes", "on")

    def disarm(self) -> None:
        for path in (self.armed, self.progress):
            path.unlink(missing_ok=True)
        fd = os.open(self.install, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        self.probation = None

    def save_progress(self) -> None:
        tmp = self.progress.with_suffix(".tmp")
        tmp.write_text(json.dumps({"armed": self.stamp, "ready_s": round(self.probation.ready_s, 1)}))
        os.replace(tmp, self.progress)

    def tick(self, url: str) -> None:
        armed = json.loads(self.armed.read_text())
        if self.probation is None or armed.get("armed") != self.stamp:
            self.stamp = armed.get("armed")
            kept = json.loads(self.progress.read_text()) if self.progress.exists() else {}
            self.probation = Probation(self.settings, float(kept.get("ready_s", 0)) if kept.get("armed") == self.stamp
                                       else 0.0)
            log.info("release %s on probation (previous %s); ready %.0f of %.0f s", armed.get("release"),
                     armed.get("previous"), self.probation.ready_s, self.settings.probation_ready_s)
        decision = self.probation.observe(time.monotonic(), self.ready(url), self.restarts())
        if decision is None:
            if time.monotonic() - self.saved_at >= 5:
                self.save_progress()
                self.saved_at = time.monotonic()
            return
        if decision.action == "commit":
            log.info("release %s committed: %s", armed.get("release"), decision.reason)
            self.disarm()
            return
        log.warning("rollback trigger %s: %s; rolling back %s to %s", decision.trigger, decision.reason,
                    armed.get("release"), armed.get("previous"))
        if self.knob_off():
            log.warning("fault auto_rollback_off: trigger %s ignored, nothing rolled back", decision.trigger)
            self.disarm()
            return
        script = self.install / "current" / "scripts" / "rollback.sh"
        subprocess.run(["systemd-run", "--unit", "camera-service-auto-rollback", "--collect", "--quiet", str(script)],
                       check=False)
        self.probation = None
        deadline = time.monotonic() + 600
        while self.armed.exists() and time.monotonic() < deadline:   # rollback.sh disarms it first
            time.sleep(self.settings.poll_s)

    def run(self) -> None:
        while True:
            try:
                if not self.armed.exists():
                    self.probation = None
                else:
                    cfg = self._config()
                    self.settings = Settings.from_config(cfg.get("watchdog"), self.environ)
                    host = cfg["health"]["host"]
                    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
                    self.tick(f"http://{host}:{cfg['health']['port']}/health/ready")
            except Exception:  # one bad poll must not end the watchdog
                log.exception("watchdog poll failed")
            time.sleep(self.settings.poll_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="camera_service.watchdog", description=__doc__.splitlines()[0])
    parser.add_argument("--install-dir", type=Path, default=Path("/opt/camera-service"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    Watchdog(args.install_dir, dict(os.environ)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
