"""One recorded trial run again, from its run bundle: `ivv resilience replay BUNDLE CRITERION#TRIAL`.

Every trial's evidence carries its spec (`details.trial.spec`: the kind, the operation, the cut point
as a boundary label or seconds after the start, the start state and the seed), so a trial is found by
criterion and number, and run again on the same kind of target with the bundle's own gate copies. The
inventory, target and profile default to those of the recorded command line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ivv.errors import ConfigError

TRIAL = re.compile(r"^(?P<criterion>[a-z][\w.]*)#(?P<number>\d+)$")


def parse_ref(text: str) -> tuple[str, int]:
    found = TRIAL.match(text or "")
    if not found:
        raise ConfigError(f"trial {text!r}: expected CRITERION#NUMBER, e.g. res.power_cut_upgrade#3")
    return found["criterion"], int(found["number"])


def recorded_trials(records: Iterable) -> list[dict]:
    """Every trial check in a journal: {criterion, trial, point, passed, spec, seq}."""
    out = []
    for record in records:
        details = record.details if isinstance(record.details, dict) else {}
        trial = details.get("trial")
        if record.kind == "check" and isinstance(trial, dict) and isinstance(trial.get("spec"), dict):
            out.append({"criterion": record.criterion, "trial": trial.get("trial"), "point": trial.get("point"),
                        "passed": trial.get("passed"), "spec": trial["spec"], "seq": record.seq})
    return out


def find_trial(records: Iterable, criterion: str, number: int) -> dict:
    trials = recorded_trials(records)
    for trial in trials:
        if trial["criterion"] == criterion and trial["trial"] == number:
            return trial
    known = ", ".join(sorted({f"{t['criterion']}#{t['trial']}" for t in trials})) or "none"
    raise ConfigError(f"no trial {criterion}#{number} in this bundle (recorded trials: {known})")


def command_defaults(manifest: dict) -> dict[str, str | None]:
    """--ivv-inventory, --ivv-target and --ivv-profile of the recorded command line."""
    argv = list(manifest.get("command") or [])
    out: dict[str, str | None] = {"inventory": None, "target": None, "profile": None}
    for flag, key in (("--ivv-inventory", "inventory"), ("--ivv-target", "target"), ("--ivv-profile", "profile")):
        for index, arg in enumerate(argv):
            if arg == flag and index + 1 < len(argv):
                out[key] = argv[index + 1]
            elif arg.startswith(flag + "="):
                out[key] = arg.split("=", 1)[1]
    if out["target"] is None and len(manifest.get("targets") or {}) == 1:
        out["target"] = next(iter(manifest["targets"]))
    return out
