"""A deployment operation run detached on the device, watched from the harness, stopped at a cut point.

`Target.run` blocks until a command ends and dies with ivv's SSH session, so a power cut or a link loss in
the middle of an operation needs the operation to run by itself on the device: `DetachedRun` uploads
`device_runner.py` once, writes the run's spec and starts it as a transient systemd unit
(`systemd-run -p Delegate=yes`; `setsid nohup` where systemd is not PID 1). The harness then reads its
state and events over SSH; `wait_settled` is one SSH call that returns as soon as the run is paused at its
cut point (or done), so the cut follows the pause within a round trip.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ivv.errors import TargetError, TargetUnreachable
from ivv.poll import wait_until
from ivv.targets.base import CommandTimeout

RUNNER_SOURCE = Path(__file__).with_name("device_runner.py")
DEVICE_ROOT = "/var/lib/ivv/resilience"


@dataclass
class RunState:
    """What the runner's state.json said: running | paused | done (unknown when unreadable)."""

    state: str
    status: int | None = None
    label: str | None = None
    t: float | None = None
    frozen: bool | None = None
    held: bool | None = None
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> RunState:
        try:
            data = json.loads(text)
        except ValueError:
            return cls("unknown", raw={"text": text[-300:]})
        return cls(str(data.get("state", "unknown")), data.get("status"), data.get("label"), data.get("t"),
                   data.get("frozen"), data.get("held"), data)

    @property
    def settled(self) -> bool:
        return self.state in ("paused", "done")


class Device:
    """How the harness runs root commands on a target: `sudo -n` unless it logs in as root."""

    def __init__(self, target):
        self.target = target
        who = target.run("id -un; id -u", timeout=60)
        name, uid = (who.stdout.split() + ["", ""])[:2]
        self.user = name or None
        self.root = "" if uid == "0" else "sudo -n "
        self.systemd = target.run("test -d /run/systemd/system && command -v systemd-run", timeout=30).succeeded

    def sh(self, command: str, timeout: float = 60):
        return self.target.run(f"{self.root}sh -c {shlex.quote(command)}", timeout=timeout)

    def write(self, path: str, text: str) -> None:
        result = self.target.run(f"printf %s {shlex.quote(text)} | {self.root}tee {shlex.quote(path)} >/dev/null",
                                 timeout=60)
        if not result.succeeded:
            raise TargetError(f"{self.target.name}: cannot write {path}: {result.stderr.strip()[-300:]}")

    def ensure_runner(self) -> str:
        """The runner script on the device (uploaded when missing or changed); its path there."""
        source = RUNNER_SOURCE.read_bytes()
        path = f"{DEVICE_ROOT}/device_runner.py"
        have = self.sh(f"sha256sum {path} 2>/dev/null | cut -d' ' -f1", 30).stdout.strip()
        if have != hashlib.sha256(source).hexdigest():
            self.sh(f"mkdir -p {DEVICE_ROOT} && chmod 0755 {DEVICE_ROOT}", 30)
            self.write(path, source.decode())
        return path


class DetachedRun:
    """One operation's commands, started detached; `pause` is a cut point's runner spec (or None)."""

    def __init__(self, device: Device, name: str, commands: list[str], marker: str | None = None,
                 pause: dict | None = None, hold: str | None = None):
        self.device = device
        self.commands = list(commands)
        self.marker = marker
        self.pause = pause
        self.hold = hold
        self.id = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:40] + "-" + secrets.token_hex(3)
        self.dir = f"{DEVICE_ROOT}/{self.id}"
        self.unit = f"ivv-op-{self.id}"

    def start(self) -> None:
        runner = self.device.ensure_runner()
        spec = {"dir": self.dir, "commands": self.commands, "marker": self.marker, "pause": self.pause,
                "hold": self.hold, "user": self.device.user if self.device.root else None}
        self.device.sh(f"mkdir -p {shlex.quote(self.dir)}", 30)
        self.device.write(f"{self.dir}/spec.json", json.dumps(spec))
        args = f"python3 {runner} {shlex.quote(self.dir + '/spec.json')}"
        if self.device.systemd:
            launch = f"systemd-run --unit={self.unit} -p Delegate=yes --collect --quiet {args}"
        else:
            launch = f"setsid nohup {args} >{shlex.quote(self.dir + '/runner.log')} 2>&1 < /dev/null &"
        result = self.device.sh(launch, 60)
        if not result.succeeded:
            raise TargetError(f"{self.device.target.name}: cannot start the detached run {self.unit}: "
                              f"{(result.stderr or result.stdout).strip()[-400:]}")

    # -- reading it ------------------------------------------------------------------------------
    def _read(self, name: str, timeout: float = 30) -> str:
        return self.device.sh(f"cat {shlex.quote(self.dir + '/' + name)} 2>/dev/null", timeout).stdout

    def state(self) -> RunState:
        return RunState.parse(self._read("state.json"))

    def events(self) -> list[dict]:
        out = []
        for line in self._read("events.jsonl", 60).splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def output(self, lines: int = 80) -> str:
        return self.device.sh(f"tail -n {int(lines)} {shlex.quote(self.dir + '/output.log')} 2>/dev/null", 30).stdout

    def wait_settled(self, timeout_s: float) -> RunState:
        """Block (one SSH call) until the run is paused or done, at most `timeout_s`."""
        path = shlex.quote(self.dir + "/state.json")
        loop = (f"end=$(( $(date +%s) + {int(timeout_s)} )); "
                f"until grep -qE '\"state\": \"(paused|done)\"' {path} 2>/dev/null || [ $(date +%s) -ge $end ]; "
                f"do sleep 0.05; done; cat {path}")
        try:
            return RunState.parse(self.device.sh(loop, timeout_s + 60).stdout)
        except CommandTimeout:
            return RunState("unknown", raw={"text": f"no answer within {timeout_s + 60:.0f} s"})

    def wait_done(self, timeout_s: float, interval_s: float = 2.0):
        """Poll until done, through a link that may be down (an unreachable device is an observation)."""
        def check():
            try:
                seen = self.state()
            except (TargetUnreachable, CommandTimeout) as exc:
                return False, {"state": "unreachable", "error": str(exc).splitlines()[0][:200]}
            return seen.state == "done", seen.raw
        return wait_until(check, timeout_s, interval_s)

    def stop(self) -> None:
        """End a run that was not cut (its unit stopped, frozen processes included)."""
        if self.device.systemd:
            self.device.sh(f"systemctl kill --signal=SIGKILL {self.unit} 2>/dev/null; "
                           f"systemctl stop {self.unit} 2>/dev/null; true", 60)
        else:
            pid = self.state().raw.get("pid")
            if isinstance(pid, int):
                self.device.sh(f"kill -TERM {pid} 2>/dev/null; true", 30)
        if self.hold:                   # a killed runner cannot take its hold back itself
            self.device.sh(f"rm -f {shlex.quote(self.hold + '/enabled')} {shlex.quote(self.hold + '/waiting')}", 30)
