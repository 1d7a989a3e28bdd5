"""One QEMU process of the virtual device: qcow2 overlay, boot, port forwards, QMP, and its lease.

Every machine has a run folder (<cache>/run/<name>-<random>/) holding overlay.qcow2, qmp.sock,
console.log, qemu.pid and state.json. The overlay sits on the cached image, so a new overlay is a clean
device and the image itself is never written. A watchdog process (ivv.vdevice.watchdog) ends QEMU when
its owner dies or its lease (TTL) runs out.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from ivv.errors import PrerequisiteError, TargetError
from ivv.vdevice.host import cache_root, ensure_host_tools, tool
from ivv.vdevice.image import Image
from ivv.vdevice.qmp import QMPClient, QMPError
from ivv.vdevice.watchdog import end_qemu, is_qemu

NETDEV = "n0"
SSH_PORT = 22


def runs_dir() -> Path:
    path = cache_root() / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kvm_usable() -> bool:
    """KVM only where /dev/kvm is usable, the CPU has vmx/svm, and a boot with it has not failed before."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    if " vmx" not in flags and " svm" not in flags:
        return False
    return not (cache_root() / "kvm-broken").exists()


def mark_kvm_broken(reason: str) -> None:
    (cache_root() / "kvm-broken").write_text(reason + "\n")


def choose_accel(requested: str | None = None) -> str:
    """`tcg` or `kvm`: IVV_ACCEL or the inventory may force one; `auto` probes."""
    choice = (requested or os.environ.get("IVV_ACCEL") or "auto").lower()
    if choice in ("tcg", "kvm"):
        return choice
    return "kvm" if kvm_usable() else "tcg"


def sweep_stale_runs(quiet_for: float = 600.0) -> None:
    """Remove run folders whose QEMU is gone and that nothing touched for `quiet_for` seconds (a killed
    session's leftovers whose watchdog died too). The quiet period spares a folder being set up, power
    cycled or restored by another session right now."""
    now = time.time()
    for run_dir in runs_dir().iterdir():
        try:
            state = json.loads((run_dir / "state.json").read_text())
            pid = state.get("pid")
        except (OSError, ValueError):
            pid = None
        if pid and is_qemu(int(pid)):
            continue
        try:
            newest = max(p.stat().st_mtime for p in (run_dir, *run_dir.iterdir()))
        except (OSError, ValueError):
            continue            # changing right now: leave it to a later sweep
        if now - newest < quiet_for:
            continue
        shutil.rmtree(run_dir, ignore_errors=True)


class Machine:
    """A QEMU virtual device on one overlay; `start`/`stop` may repeat (power cycle keeps the overlay)."""

    def __init__(self, name: str, image: Image, memory_mb: int = 1024, cpus: int = 2, accel: str = "tcg",
                 ttl: float = 3 * 3600, owner_pid: int | None = None, run_dir: Path | None = None):
        ensure_host_tools(("qemu-system-x86_64", "qemu-img"))
        self.name = name
        self.image = image
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.accel = accel
        self.ttl = ttl
        self.owner_pid = owner_pid
        self.run_dir = run_dir or runs_dir() / f"{name}-{secrets.token_hex(4)}"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.forwards: dict[int, int] = {}     # guest port -> host port on 127.0.0.1
        self.pid: int | None = None
        self.started_at: float | None = None
        self.deadline = time.time() + ttl

    # --- files -----------------------------------------------------------------------------------
    @property
    def overlay(self) -> Path:
        return self.run_dir / "overlay.qcow2"

    @property
    def qmp_socket(self) -> Path:
        return self.run_dir / "qmp.sock"

    @property
    def console_log(self) -> Path:
        return self.run_dir / "console.log"

    @property
    def ssh_port(self) -> int:
        return self.forwards[SSH_PORT]

    def fresh_overlay(self) -> None:
        """A new empty overlay on the image: the next start boots a clean device (and no snapshot is left)."""
        from ivv.vdevice import snapshots

        snapshots.forget_all(self)
        self.overlay.unlink(missing_ok=True)
        subprocess.run([tool("qemu-img"), "create", "-q", "-f", "qcow2", "-b", str(self.image.disk), "-F", "raw",
                        str(self.overlay)], check=True, capture_output=True, timeout=60)

    # --- process ---------------------------------------------------------------------------------
    def argv(self) -> list[str]:
        forwards = ",".join(f"hostfwd=tcp:127.0.0.1:{host}-:{guest}" for guest, host in self.forwards.items())
        accel = "kvm" if self.accel == "kvm" else "tcg,thread=multi"
        return [
            tool("qemu-system-x86_64"), "-name", self.name,
            "-accel", accel, "-cpu", "host" if self.accel == "kvm" else "max",
            "-m", str(self.memory_mb), "-smp", str(self.cpus),
            "-kernel", str(self.image.kernel), "-initrd", str(self.image.initrd),
            "-append", "root=/dev/vda rw console=ttyS0 quiet",
            "-drive", f"file={self.overlay},if=virtio,format=qcow2,cache=unsafe",
            "-netdev", f"user,id={NETDEV},restrict=on,{forwards}",
            "-device", f"virtio-net-pci,netdev={NETDEV}",
            "-device", "virtio-rng-pci",
            "-qmp", f"unix:{self.qmp_socket},server=on,wait=off",
            "-chardev", f"file,id=console,path={self.console_log},append=on", "-serial", "chardev:console",
            "-display", "none", "-monitor", "none",
            "-daemonize", "-pidfile", str(self.run_dir / "qemu.pid"),
        ]

    def start(self) -> None:
        """Boot QEMU on the current overlay (creating it if missing); returns once QEMU runs."""
        if self.running():
            raise TargetError(f"{self.name}: already running (pid {self.pid})")
        if not self.overlay.exists():
            self.fresh_overlay()
        last_error = ""
        for _attempt in range(3):
            if SSH_PORT not in self.forwards or last_error:
                self.forwards[SSH_PORT] = free_port()
            self.qmp_socket.unlink(missing_ok=True)
            # keep the console log of earlier boots in the same file, separated
            with open(self.console_log, "a") as console:
                console.write(f"\n===== ivv: boot at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} =====\n")
            proc = subprocess.run(self.argv(), capture_output=True, text=True, timeout=60)
            if proc.returncode == 0:
                break
            last_error = proc.stderr.strip()
            if "hostfwd" not in last_error and "Could not set up host forwarding" not in last_error:
                raise TargetError(f"{self.name}: QEMU did not start: {last_error}")
        else:
            raise TargetError(f"{self.name}: QEMU did not start (port forwards): {last_error}")
        self.pid = int((self.run_dir / "qemu.pid").read_text().strip())
        self.started_at = time.monotonic()
        self._write_state()
        self._spawn_watchdog()

    def _spawn_watchdog(self) -> None:
        argv = [sys.executable, "-m", "ivv.vdevice.watchdog", "--pid", str(self.pid),
                "--deadline", str(self.deadline), "--qmp", str(self.qmp_socket), "--run-dir", str(self.run_dir)]
        if self.owner_pid:
            argv += ["--owner", str(self.owner_pid)]
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True, cwd="/")

    def _write_state(self) -> None:
        state = {"name": self.name, "pid": self.pid, "ssh_port": self.forwards.get(SSH_PORT),
                 "forwards": {str(k): v for k, v in self.forwards.items()}, "accel": self.accel,
                 "user": self.image.user, "key": str(self.image.ssh_key), "image": str(self.image.directory),
                 "console_log": str(self.console_log), "deadline": self.deadline, "owner_pid": self.owner_pid}
        tmp = self.run_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(tmp, self.run_dir / "state.json")

    def running(self) -> bool:
        if self.pid is not None and is_qemu(self.pid):
            return True
        return self._adopt_restarted()

    def _adopt_restarted(self) -> bool:
        """Another process attached to this run folder powered the device off and on (a new QEMU on the
        same overlay): follow it to its new pid and forwards."""
        state = load_state(self.run_dir)
        if state is None or int(state["pid"]) == self.pid:
            return False
        self.pid = int(state["pid"])
        self.forwards.update({int(k): int(v) for k, v in state["forwards"].items()})
        return True

    def stop(self) -> None:
        """Power off: QMP quit (QEMU ends in about a second), signals if it does not."""
        if self.pid is not None:
            end_qemu(self.pid, str(self.qmp_socket))
            if is_qemu(self.pid):
                raise TargetError(f"{self.name}: QEMU pid {self.pid} did not stop")
        self.pid = None

    def destroy(self) -> None:
        """Stop and remove the run folder (overlay included)."""
        self.stop()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    @classmethod
    def attach(cls, run_dir: Path) -> Machine:
        """The machine another process started in `run_dir` (it keeps owning it: never stop it here)."""
        state = load_state(Path(run_dir))
        if state is None:
            raise TargetError(f"{run_dir}: no running virtual device there (state.json missing or QEMU gone)")
        directory = Path(state["image"])
        machine = cls(state["name"], Image(directory, directory.name, state["user"]), accel=state["accel"],
                      owner_pid=state.get("owner_pid"), run_dir=Path(run_dir))
        machine.pid = int(state["pid"])
        machine.forwards = {int(k): int(v) for k, v in state["forwards"].items()}
        machine.deadline = float(state.get("deadline") or machine.deadline)
        return machine

    # --- QMP -------------------------------------------------------------------------------------
    def qmp_client(self, timeout: float = 10) -> QMPClient:
        if not self.running():
            raise TargetError(f"{self.name}: not running; console log {self.console_log}")
        return QMPClient(self.qmp_socket, timeout=timeout)

    def qmp(self, command: str, arguments: dict | None = None, timeout: float = 10):
        with self.qmp_client(timeout) as client:
            return client.execute(command, arguments)

    def forward(self, guest_port: int) -> int:
        """The 127.0.0.1 port forwarding to `guest_port`, added on first use (kept across power cycles)."""
        guest_port = int(guest_port)
        if guest_port in self.forwards:
            return self.forwards[guest_port]
        for _attempt in range(5):
            host_port = free_port()
            with QMPClient(self.qmp_socket) as client:
                answer = client.hmp(f"hostfwd_add {NETDEV} tcp:127.0.0.1:{host_port}-:{guest_port}")
            if not answer.strip():
                self.forwards[guest_port] = host_port
                self._write_state()
                return host_port
        raise QMPError(f"{self.name}: could not forward guest port {guest_port}: {answer.strip()}")

    def console_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.console_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def load_state(run_dir: Path) -> dict | None:
    """state.json of a run folder whose QEMU still runs, else None."""
    try:
        state = json.loads((run_dir / "state.json").read_text())
    except (OSError, ValueError):
        return None
    state["run_dir"] = str(run_dir)
    return state if state.get("pid") and is_qemu(int(state["pid"])) else None


def running_devices() -> list[dict]:
    return [s for s in (load_state(d) for d in sorted(runs_dir().iterdir())) if s]


def qemu_version() -> str:
    try:
        out = subprocess.run([tool("qemu-system-x86_64"), "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (PrerequisiteError, OSError, subprocess.TimeoutExpired):
        return ""
    return out.splitlines()[0] if out else ""
