"""The shape of the library, checked so it stays easy to read and change: small modules, no import cycle,
no branch on a target's kind outside ivv/targets, a docstring map in every package, and a wheel that
holds every package of the tree."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "ivv"
MAX_LINES = 450
KIND_BRANCH = re.compile(r"""\.kind\s*(==|!=|in)\s*[\(\[]?\s*["'](local|qemu|ssh|endpoint)["']|"""
                         r"""["'](local|qemu|ssh|endpoint)["']\s*(==|!=)\s*\w+\.kind\b""")


def modules() -> list[Path]:
    return sorted(p for p in LIBRARY.rglob("*.py") if "__pycache__" not in p.parts)


def name_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_is_over_the_size_limit():
    big = {str(p.relative_to(ROOT)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def test_no_branch_on_a_target_kind_outside_the_targets_package():
    places = [ROOT / "ivv", ROOT / "fixtures", ROOT / "suites"]
    found = [f"{p.relative_to(ROOT)}:{i}" for base in places for p in sorted(base.rglob("*.py"))
             if "targets" not in p.relative_to(ROOT).parts[:2]
             for i, line in enumerate(p.read_text().splitlines(), 1) if KIND_BRANCH.search(line)]
    assert not found, f"code that asks which kind of target it has (ask for a capability instead): {found}"


def _imports(path: Path) -> set[str]:
    """ivv modules imported at module level (imports inside functions are deliberate: late or optional)."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("ivv")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ivv") and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_no_import_cycle():
    known = {name_of(p): p for p in modules()}
    graph = {name: {m for m in _imports(path) if m in known and m != name} for name, path in known.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend(trail[trail.index(nxt):] + [node, nxt] if nxt in trail else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*trail, node]):
                return True
        state[node] = 2
        return False

    for name in sorted(graph):
        if state.get(name) is None and visit(name, []):
            break
    assert not cycle, f"import cycle: {' -> '.join(cycle)}"


def test_every_package_maps_its_modules():
    missing = {}
    for init in sorted(LIBRARY.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        names = [p.stem for p in init.parent.glob("*.py") if p.stem != "__init__"]
        absent = [n for n in names if n not in doc]
        if absent or not doc:
            missing[str(init.parent.relative_to(ROOT))] = absent or ["(no docstring)"]
    assert not missing, f"package docstrings that do not name their modules: {missing}"


def test_the_wheel_lists_every_package():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    tree = {name_of(init) for init in LIBRARY.rglob("__init__.py")}
    tree |= {"ivv.fixtures", "ivv.suites", "ivv.templates", "ivv.deployment"}
    tree |= {f"ivv.suites.{p.parent.name}" for p in (ROOT / "suites").glob("*/__init__.py")}
    assert tree <= listed, f"packages missing from pyproject.toml [tool.setuptools] packages: {sorted(tree - listed)}"
