"""Files on the device as facts: every file, directory and link under some roots with mode, owner and
sha256, and the differences between two such inventories. "Nothing changed" and "data preserved" are
comparisons of these, taken on the device as root, not claims.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping

from ivv.evidence.facts import Fact, Undecided

# Files a running service legitimately creates inside its install tree (bytecode caches).
RUNTIME_NOISE = ("__pycache__",)

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


def diff_checksums(before: Mapping[str, str], after: Mapping[str, str]) -> dict:
    """Which data files vanished, appeared or changed content (for evidence: short lists)."""
    return {"missing": sorted(set(before) - set(after)), "new": sorted(set(after) - set(before)),
            "changed": sorted(p for p in set(before) & set(after) if before[p] != after[p])}



def without_noise(inventory: dict) -> dict:
    return {p: v for p, v in inventory.items() if not any(n in p.split("/") for n in RUNTIME_NOISE)}



def kept(name: str, before: Mapping[str, str], after: Mapping[str, str], folders: Iterable[str]) -> Fact | Undecided:
    """Every data file of `before` still there with the same sha256; with no file to compare, nothing is
    proven (Undecided), however equal two empty sets are."""
    if not before:
        where = ", ".join(folders) or "no data folder (the profile names none in paths.data)"
        return Undecided(name, f"no data file to compare in {where}")
    return Fact(name, dict(before) == dict(after), expected=f"{len(before)} files unchanged (sha256)",
                observed=diff_checksums(before, after))


def same_tree(name: str, before: Mapping[str, dict], after: Mapping[str, dict], what: str) -> Fact | Undecided:
    """Two file inventories equal (path, mode, owner, sha256); with nothing in `before`, nothing is proven."""
    if not before:
        return Undecided(name, f"no file to compare: {what} is empty or missing")
    diff = diff_inventory(before, after)
    return Fact(name, is_empty_diff(diff), expected=f"{len(before)} files unchanged ({what})",
                observed={k: (v if len(str(v)) < 400 else f"{len(v)} paths") for k, v in diff.items()},
                details={"files_compared": len(before)})
