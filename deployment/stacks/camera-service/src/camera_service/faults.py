"""Fault knobs: each one, when set, makes the service misbehave in one real, documented way.

All are off by default. They exist so the harness can prove that every gate criterion is able to FAIL
(see the stack README for which criterion catches which knob).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields


class FaultError(ValueError):
    """A knob has a value of the wrong type."""


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise FaultError(f"expected a boolean, got {value!r}")


@dataclass(frozen=True)
class Faults:
    slow_ms: int = 0                 # every RPC answer is delayed this long (a sleep: costs no CPU)
    cpu_ms: int = 0                  # every RPC call burns this much CPU before it is answered
    camera_stall: float = 0.0        # the test-pattern camera stops delivering new frames this many seconds
                                     # after its first one (its /state still says online; RPC stays fast)
    health_lies: bool = False        # /health/* answer healthy/ready whatever the components say
    auth_bypass: bool = False        # get_metrics skips authentication and its admin role check
    wrong_error_codes: bool = False  # permission errors come back as -32001, unknown methods as -32600
    drop_field: str = ""             # "method.field" (or "1" = get_camera_list.total) missing from results
    leak_mb_per_min: float = 0.0     # resident memory grows at this rate and is never freed
    crash_after: int = 0             # the process dies (exit 70) after this many requests
    crash_on: str = ""               # "method.param": the process dies on a string over 100 chars there
    broken_release: bool = False     # the service refuses to start (set in a release's config)
    slow_rollback: int = 0           # rollback.sh sleeps this many seconds (read by the script)
    session_leak: bool = False       # one connection's authentication is shared with every connection
    accept_alg_none: bool = False    # unsigned JWTs (alg "none") are accepted
    weak_secret: bool = False        # JWTs signed with the well-known secret "changeme" are accepted
    bind_all: bool = False           # listen on 0.0.0.0 whatever address is configured
    no_rate_limit: bool = False      # the per-connection rate limit is off
    file_traversal: bool = False     # file routes do not confine names to their directory
    notify_delay_ms: int = 0         # notifications are sent this long after their event
    plain_ws: bool = False           # TLS settings are ignored: the API port serves plain ws://
    # Resilience knobs (some are read by the scripts or the watchdog, not by the service itself):
    non_atomic_upgrade: bool = False  # upgrade.sh / rollback.sh rewrite the live release in place
    no_restart: bool = False          # apply-faults.sh sets Restart=no: a crashed service stays down
    ignore_sigterm: bool = False      # SIGTERM is ignored: every stop waits for systemd's stop timeout
    auto_rollback_off: bool = False   # the watchdog sees its triggers but never rolls back
    fragile_recordings: bool = False  # recordings default to MP4 (index written at the end), never synced
    delete_when_full: bool = False    # a full disk is "solved" by deleting the oldest finished recordings

    @classmethod
    def from_config(cls, section: dict | None) -> Faults:
        """Knobs from the config's `faults` section; unknown names are an error, not ignored."""
        section = dict(section or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise FaultError(f"faults: unknown knob(s) {', '.join(unknown)}; known: {', '.join(known)}")
        values = {}
        for name, raw in section.items():
            kind = known[name].type
            try:
                if kind == "bool":
                    values[name] = _flag(raw)
                elif kind == "int":
                    values[name] = int(raw or 0)
                elif kind == "float":
                    values[name] = float(raw or 0)
                else:
                    values[name] = "" if raw in (None, False, "0") else str(raw)
            except (TypeError, ValueError) as exc:
                raise FaultError(f"faults.{name}: {exc}") from exc
        if values.get("drop_field") in ("1", "true", "True"):
            values["drop_field"] = "get_camera_list.total"
        return cls(**values)

    def active(self) -> dict:
        """The knobs that are set, for the log line at start."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}


def burn_cpu(seconds: float) -> None:
    """Spin until this thread has used `seconds` of CPU time (knob cpu_ms): a busy loop, so the cost is
    CPU, not waiting, and the event loop serves nothing else meanwhile, as a CPU-bound handler would."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
