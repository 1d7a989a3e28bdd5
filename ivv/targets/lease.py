"""Leases on shared devices: a run holds a device for a bounded time, renews it while it lives, and the
lease of a run that was killed expires by itself, so the next run takes over instead of waiting forever.

The lease lives on the device, so runs from several runner hosts see the same one: a directory made by
one atomic `mkdir` (`LEASE_DIR`), holding `lease.env` (run id, holder, host, pid, expiry on the device's
own clock). Taking over an expired lease renames the old directory away first, so of two runs that see
it expired at once only one wins. Only devices other runs can reach need one (`Target.shared`): this
machine's processes and a virtual device's own QEMU belong to the run that started them.
"""

from __future__ import annotations

import getpass
import os
import shlex
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ivv.errors import IvvError, PrerequisiteError
from ivv.poll import wait_until

LEASE_DIR = "/var/tmp/ivv-lease"
FIELDS = ("run_id", "holder", "host", "pid", "acquired", "expires", "taken_over_from")


class LeaseUnavailable(PrerequisiteError):
    """Another run holds the device and did not let go within the wait (exit status 2)."""


@dataclass(frozen=True)
class LeaseInfo:
    run_id: str
    holder: str
    host: str
    pid: int
    acquired: float
    expires: float
    taken_over_from: str = ""

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in FIELDS}


def parse(text: str) -> LeaseInfo | None:
    raw = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    try:
        return LeaseInfo(raw["run_id"], raw.get("holder", ""), raw.get("host", ""), int(raw.get("pid", 0)),
                         float(raw.get("acquired", 0)), float(raw["expires"]), raw.get("taken_over_from", ""))
    except (KeyError, ValueError):
        return None


_SCRIPT = r"""
d={dir}; f="$d/lease.env"; now=$(date +%s)
write() {{ printf 'run_id=%s\nholder=%s\nhost=%s\npid=%s\nacquired=%s\nexpires=%s\ntaken_over_from=%s\n' \
  {run_id} {holder} {host} {pid} "$now" "$((now + {ttl}))" "$1" > "$f.tmp" && mv "$f.tmp" "$f"; }}
if mkdir "$d" 2>/dev/null; then write ""; echo ACQUIRED; exit 0; fi
expires=$(sed -n 's/^expires=//p' "$f" 2>/dev/null); old=$(sed -n 's/^run_id=//p' "$f" 2>/dev/null)
if [ "$old" = {run_id} ]; then write "$(sed -n 's/^taken_over_from=//p' "$f")"; echo RENEWED; exit 0; fi
if [ -n "$expires" ] && [ "$now" -lt "$expires" ]; then echo HELD; cat "$f"; exit 0; fi
if mv "$d" "$d.stale.$$" 2>/dev/null && mkdir "$d" 2>/dev/null; then
  write "$old"; rm -rf "$d.stale.$$"; echo "TAKEN $old"; exit 0; fi
echo RETRY
"""


class Lease:
    """The lease of one run on one target (`target.run` with a shell)."""

    def __init__(self, target, run_id: str, ttl_s: float = 600.0, path: str = LEASE_DIR,
                 holder: str | None = None):
        self.target, self.run_id, self.ttl_s, self.path = target, run_id, float(ttl_s), path
        self.holder = holder or getpass.getuser()
        self.info: LeaseInfo | None = None
        self.lost: str | None = None
        self._keeper: threading.Thread | None = None
        self._stop = threading.Event()

    def _script(self) -> str:
        return _SCRIPT.format(dir=shlex.quote(self.path), run_id=shlex.quote(self.run_id),
                              holder=shlex.quote(self.holder), host=shlex.quote(socket.gethostname()),
                              pid=os.getpid(), ttl=int(self.ttl_s))

    def read(self) -> LeaseInfo | None:
        result = self.target.run(f"cat {shlex.quote(self.path)}/lease.env 2>/dev/null", timeout=30)
        return parse(result.stdout) if result.exit_status == 0 else None

    def try_acquire(self) -> tuple[str, LeaseInfo | None]:
        """One attempt: ("ACQUIRED" | "RENEWED" | "TAKEN" | "HELD" | "RETRY", the lease now on the device)."""
        result = self.target.run(self._script(), timeout=30)
        first, _, rest = result.stdout.partition("\n")
        state = first.split(" ", 1)[0] or "RETRY"
        return state, (parse(rest) if state == "HELD" else self.read())

    def acquire(self, wait_s: float = 0.0, progress: Callable[[str], None] | None = None) -> LeaseInfo:
        """Take the lease, waiting up to `wait_s` for another run to release it (or for it to expire)."""
        seen: dict = {}

        def attempt():
            state, info = self.try_acquire()
            seen.update(state=state, info=info)
            if state == "HELD" and progress is not None and info is not None:
                progress(f"{self.target.name}: leased by run {info.run_id} ({info.holder}@{info.host}, pid "
                         f"{info.pid}); waiting")
            return state in ("ACQUIRED", "RENEWED", "TAKEN"), state

        waited = wait_until(attempt, max(wait_s, 0.0), interval_s=min(5.0, max(wait_s / 10, 0.5)))
        if not waited.reached:
            other = seen.get("info")
            raise LeaseUnavailable(f"{self.target.name}: leased by run {other.run_id if other else '?'} "
                                   f"({other.holder if other else '?'}@{other.host if other else '?'}) for another "
                                   f"{max(0, (other.expires if other else 0) - (self.device_now() or 0)):.0f} s; "
                                   f"gave up after waiting {wait_s:.0f} s (--lease-wait)")
        self.info = seen["info"]
        return self.info

    def device_now(self) -> float | None:
        result = self.target.run("date +%s", timeout=30)
        return float(result.stdout.strip()) if result.stdout.strip().isdigit() else None

    def renew(self) -> bool:
        """Extend the lease; False (and `lost` set) when another run holds it now."""
        state, info = self.try_acquire()
        if state in ("ACQUIRED", "RENEWED", "TAKEN"):
            self.info = info
            return True
        self.lost = f"run {info.run_id if info else '?'} took over the lease of {self.target.name}"
        return False

    def keep(self, on_lost: Callable[[str], None] | None = None) -> None:
        """Renew every third of the lease time in the background until `release()`."""
        def loop():
            while not self._stop.wait(self.ttl_s / 3):
                try:
                    if not self.renew():
                        if on_lost is not None:
                            on_lost(self.lost)
                        return
                except IvvError:
                    continue  # a device that does not answer now may answer at the next renewal
        self._keeper = threading.Thread(target=loop, name=f"lease-{self.target.name}", daemon=True)
        self._keeper.start()

    def release(self) -> None:
        """Stop renewing and remove the lease if it is still this run's."""
        self._stop.set()
        if self.lost:
            return
        try:
            self.target.run(f"grep -qx {shlex.quote('run_id=' + self.run_id)} {shlex.quote(self.path)}/lease.env "
                            f"&& rm -rf {shlex.quote(self.path)}", timeout=30)
        except IvvError:
            pass
