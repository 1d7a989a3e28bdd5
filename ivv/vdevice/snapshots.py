"""Snapshots of a running virtual device: the whole machine (RAM, devices and disk) saved in its qcow2
overlay with HMP `savevm` and put back with `loadvm`, each about a second under TCG.

A resilience trial starts from one of these (an installed device, ready) instead of boot plus install.
The names and what each holds (`meta`: the profile, release archives and knobs it was made with) are kept
in the run folder (`snapshots.json`), so a process attached to the same machine knows them too. A fresh
overlay has none.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ivv.vdevice.qmp import QMPError

SNAPSHOTS = "snapshots.json"
TIMEOUT_S = 600.0


def _file(machine) -> Path:
    return Path(machine.run_dir) / SNAPSHOTS


def known(machine) -> dict[str, dict]:
    """name -> {"meta", "saved", "seconds"} of the snapshots in the machine's overlay."""
    try:
        return json.loads(_file(machine).read_text())
    except (OSError, ValueError):
        return {}


def _write(machine, data: dict) -> None:
    tmp = _file(machine).with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, _file(machine))


def _hmp(machine, line: str) -> float:
    started = time.monotonic()
    with machine.qmp_client(timeout=TIMEOUT_S) as client:
        answer = client.hmp(line).strip()
    if answer:   # HMP says nothing on success
        raise QMPError(f"{machine.name}: `{line}` failed: {answer}")
    return round(time.monotonic() - started, 3)


def save(machine, name: str, meta: dict | None = None) -> float:
    seconds = _hmp(machine, f"savevm {name}")
    data = known(machine)
    data[name] = {"meta": meta or {}, "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "seconds": seconds}
    _write(machine, data)
    return seconds


def load(machine, name: str) -> float:
    if name not in known(machine):
        raise QMPError(f"{machine.name}: no snapshot {name!r} (known: {', '.join(known(machine)) or 'none'})")
    return _hmp(machine, f"loadvm {name}")


def delete(machine, name: str) -> None:
    if name in known(machine):
        _hmp(machine, f"delvm {name}")
        data = known(machine)
        data.pop(name, None)
        _write(machine, data)


def forget_all(machine) -> None:
    """The overlay was replaced: no snapshot survives."""
    _file(machine).unlink(missing_ok=True)
