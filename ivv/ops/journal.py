"""The device journal around a timed operation, and the anomalies in it a reviewer must see.

An operation can succeed while the device tells another story: a unit that would not stop and was
killed after systemd's stop timeout (the 90 s inside a slow rollback), a restart loop, an OOM kill, a core
dump, a unit that failed. `excerpt(stack, op)` reads the journal for the operation's window on the
device's own clock; `anomalies(text)` names what it found, as findings (not verdicts) for the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivv.errors import CapabilityMissing, TargetError

PATTERNS = (
    ("stop timed out", re.compile(r"State 'stop-sigterm' timed out|Stopping timed out|"
                                  r"Failed with result 'timeout'|stop operation timed out", re.I)),
    ("killed at stop", re.compile(r"Killing process \d+ .* with signal SIGKILL|Processes still around after "
                                  r"SIGKILL", re.I)),
    ("restart loop", re.compile(r"Start request repeated too quickly|restart counter is at ([3-9]|\d\d+)", re.I)),
    ("out of memory", re.compile(r"Out of memory: Killed process|oom-kill|invoked oom-killer", re.I)),
    ("core dump", re.compile(r"dumped core|core dumped|systemd-coredump", re.I)),
    ("unit failed", re.compile(r"Failed with result '(?!timeout)[\w-]+'|entered failed state", re.I)),
)
MAX_LINES = 400


@dataclass(frozen=True)
class Anomaly:
    kind: str
    line: str

    def as_finding(self, operation: str) -> dict:
        return {"kind": "journal", "text": f"{operation}: {self.kind}: {self.line.strip()[:240]}"}


def excerpt(stack, op) -> str | None:
    """The journal of the operation's window (None when the stack has no journal or no window)."""
    if op.window is None:
        return None
    try:
        text = stack.journal(op.window[0] - 1, op.window[1])
    except (CapabilityMissing, TargetError):
        return None
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES // 2] + [f"... {len(lines) - MAX_LINES} lines left out ..."] + lines[-MAX_LINES // 2:]
    return "\n".join(lines) + "\n"


def anomalies(text: str | None) -> list[Anomaly]:
    """Each known anomaly once per journal line that shows it."""
    found = []
    for line in (text or "").splitlines():
        for kind, pattern in PATTERNS:
            if pattern.search(line):
                found.append(Anomaly(kind, line))
                break
    return found


def evidence_of(evidence, stack, op) -> tuple[list, dict]:
    """Artifacts and details an operation's record carries: its journal excerpt (redacted like every
    artifact) and the anomalies found in it as findings."""
    text = excerpt(stack, op)
    if text is None:
        return [], {}
    artifact = evidence.artifact(f"journal-{op.name.replace(' ', '-')}.txt", text)
    findings = [a.as_finding(op.name) for a in anomalies(text)]
    return [artifact], ({"findings": findings} if findings else {})
