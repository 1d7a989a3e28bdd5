"""Timed deployment operations on a target, and the before/after facts that judge them.

Install, upgrade, rollback and uninstall are the profile's own commands, run as written (with
`{version}`/`{environment}` filled in); the clock runs from the first command to the moment the health
endpoint says ready by code AND body. Data checksums, config snapshots and file inventories are taken
on the device so "nothing changed" and "data preserved" are comparisons, not claims.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field

from ivv.errors import ProfileError

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render(command: str, values: Mapping[str, object], where: str = "deployment command") -> str:
    """Fill `{name}` placeholders; an unknown placeholder is a profile error naming it."""
    def sub(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise ProfileError(f"{where}: placeholder {{{name}}} has no value (known: {sorted(values)})")
        return str(values[name])
    return _PLACEHOLDER.sub(sub, command)


@dataclass
class StepResult:
    """One command of a deployment operation."""

    command: str
    exit_status: int
    duration_s: float
    stdout_tail: str = ""
    stderr_tail: str = ""


@dataclass
class Operation:
    """A timed operation: its commands, whether they succeeded, and when the service was ready."""

    name: str
    steps: list[StepResult] = field(default_factory=list)
    commands_s: float = 0.0
    ready: bool = False
    total_s: float | None = None      # first command start -> ready (None when never ready)
    ready_wait_s: float = 0.0
    ready_observation: object = None

    @property
    def succeeded(self) -> bool:
        return all(s.exit_status == 0 for s in self.steps) and bool(self.steps)

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.exit_status != 0), None)

    def as_dict(self) -> dict:
        return asdict(self) | {"succeeded": self.succeeded}


def _tail(text: str, limit: int = 2000) -> str:
    return text[-limit:] if text else ""


def run_operation(target, name: str, commands: Iterable[str], ready: Callable[[float], object] | None,
                  ready_timeout_s: float, command_timeout_s: float = 600) -> Operation:
    """Run `commands` in order (stop at the first failure), then wait for ready.

    `ready(timeout_s)` returns an object with `.reached`, `.elapsed_s`, `.last` (ivv.health.WaitResult).
    The total time runs from the first command's start to the ready answer.
    """
    op = Operation(name)
    start = time.monotonic()
    for command in commands:
        result = target.run(command, timeout=command_timeout_s)
        op.steps.append(StepResult(command, result.exit_status, round(result.duration, 3),
                                   _tail(result.stdout), _tail(result.stderr)))
        if result.exit_status != 0:
            break
    op.commands_s = round(time.monotonic() - start, 3)
    if ready is not None and op.succeeded:
        waited = ready(ready_timeout_s)
        op.ready = bool(waited.reached)
        op.ready_wait_s = round(waited.elapsed_s, 3)
        op.ready_observation = waited.last
        if op.ready:
            op.total_s = round(time.monotonic() - start, 3)
    return op


# --- facts on the device -------------------------------------------------------------------------------

_INVENTORY_SCRIPT = r"""
import hashlib, json, os, pwd, grp, stat, sys
roots = json.loads(sys.argv[1]); skip = tuple(json.loads(sys.argv[2]))
out = {}
def name(fn, i):
    try: return fn(i)[0]
    except KeyError: return str(i)
for root in roots:
    if not os.path.lexists(root): continue
    walk = [(root, [], [])] if not os.path.isdir(root) or os.path.islink(root) else os.walk(root)
    for base, dirs, files in walk:
        for entry in [base] + [os.path.join(base, f) for f in files + [d for d in dirs if os.path.islink(os.path.join(base, d))]]:
            if entry in out or entry.startswith(skip): continue
            st = os.lstat(entry)
            item = {"mode": oct(stat.S_IMODE(st.st_mode)), "owner": name(pwd.getpwuid, st.st_uid),
                    "group": name(grp.getgrgid, st.st_gid),
                    "type": "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "f"}
            if item["type"] == "f":
                h = hashlib.sha256()
                with open(entry, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""): h.update(chunk)
                item["sha256"] = h.hexdigest(); item["size"] = st.st_size
            elif item["type"] == "l":
                item["link"] = os.readlink(entry)
            out[entry] = item
json.dump(out, sys.stdout, sort_keys=True)
"""


def file_inventory(target, roots: Iterable[str], skip: Iterable[str] = (), timeout: float = 300
                   ) -> dict[str, dict]:
    """Every file, directory and link under `roots` (as root): mode, owner, group, sha256 of files."""
    roots = [r for r in roots if r]
    if not roots:
        return {}
    cmd = (f"sudo python3 -c {shlex.quote(_INVENTORY_SCRIPT)} "
           f"{shlex.quote(json.dumps(roots))} {shlex.quote(json.dumps(list(skip)))}")
    result = target.run(cmd, timeout=timeout)
    if result.exit_status != 0:
        raise RuntimeError(f"file inventory on {getattr(target, 'name', '?')} failed "
                           f"(exit {result.exit_status}): {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout)


def data_checksums(target, roots: Iterable[str]) -> dict[str, str]:
    """sha256 of every regular file under the data roots."""
    return {p: item["sha256"] for p, item in file_inventory(target, roots).items() if item["type"] == "f"}


def diff_inventory(before: Mapping[str, dict], after: Mapping[str, dict]) -> dict:
    """Added, removed and changed paths between two inventories (changed: field -> [before, after])."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = {}
    for path in sorted(set(before) & set(after)):
        fields = {k: [before[path].get(k), after[path].get(k)]
                  for k in set(before[path]) | set(after[path])
                  if before[path].get(k) != after[path].get(k)}
        if fields:
            changed[path] = fields
    return {"added": added, "removed": removed, "changed": changed}


def is_empty_diff(diff: Mapping) -> bool:
    return not (diff["added"] or diff["removed"] or diff["changed"])


def unit_state(target, unit: str) -> dict[str, str]:
    """systemd's own view of a unit: ActiveState, SubState, UnitFileState, Restart, MainPID, User."""
    props = "ActiveState,SubState,UnitFileState,Restart,MainPID,User,LoadState,NRestarts"
    result = target.run(f"systemctl show --property={props} {shlex.quote(unit)}", timeout=30)
    state = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        if key:
            state[key] = value
    return state


def unit_ok(state: Mapping[str, str]) -> tuple[bool, str]:
    """Enabled, active (running) and restarted by systemd when it dies."""
    problems = []
    if state.get("LoadState") not in (None, "loaded"):
        problems.append(f"LoadState={state.get('LoadState')}")
    if state.get("UnitFileState") != "enabled":
        problems.append(f"UnitFileState={state.get('UnitFileState')!r} (want enabled)")
    if state.get("ActiveState") != "active":
        problems.append(f"ActiveState={state.get('ActiveState')!r} (want active)")
    if state.get("Restart") in (None, "", "no"):
        problems.append(f"Restart={state.get('Restart')!r} (want a restart policy)")
    return (not problems), "; ".join(problems) or "enabled, active, Restart=" + state.get("Restart", "")


def listening(target) -> list[dict]:
    """TCP sockets in LISTEN state on the device: [{address, port, process}] (from `ss -Hltnp`)."""
    result = target.run("sudo ss -Hltnp", timeout=30)
    sockets = []
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        local = parts[3]
        address, _, port = local.rpartition(":")
        sockets.append({"address": address.strip("[]").split("%")[0], "port": int(port),
                        "process": " ".join(parts[5:])})
    return sockets


def addresses_on_port(sockets: Iterable[Mapping], port: int) -> set[str]:
    return {s["address"] for s in sockets if s["port"] == port}


def normalise_address(address: str) -> str:
    """0.0.0.0 and * mean the same to a client; so do :: and [::]."""
    return {"*": "0.0.0.0", "[::]": "::"}.get(address, address)
