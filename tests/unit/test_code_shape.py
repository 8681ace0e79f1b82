"""The shape the code keeps: small modules, a simulator without import cycles, and a README whose code layout names
every module there is."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "api", "blueprints", "graphsim", "devenv")
MAX_LINES = 400


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_is_over_400_lines():
    long = {}
    for package in (*PACKAGES, "bench", "scripts"):
        for path in _modules(package):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                long[path.relative_to(ROOT).as_posix()] = lines
    assert long == {}, f"split these (over {MAX_LINES} lines): {long}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `path` imports, anywhere in it (inside functions too)."""
    found: set[str] = set()
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {name for name in names if name in known}
    return found


def _cycles(package: str) -> list[list[str]]:
    paths = {_module_name(p): p for p in _modules(package)}
    graph = {name: _imports(path, set(paths)) - {name} for name, path in paths.items()}
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_the_simulator_has_no_import_cycle():
    assert len(_modules("graphsim")) > 30  # the check reads the package it guards
    assert _cycles("graphsim") == []


def test_the_cycle_check_finds_a_cycle(tmp_path, monkeypatch):
    pkg = tmp_path / "cyc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyc.b import x\n")
    (pkg / "b.py").write_text("def f():\n    from cyc import a\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert _cycles("cyc") == [["cyc.a", "cyc.b", "cyc.a"]]


def test_the_readme_code_layout_names_every_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("Code layout:") : readme.index("### How a mailbox is backed up")]
    rows = [line for line in layout.splitlines() if line.startswith("| `")]
    missing = []
    for package in PACKAGES:
        for path in _modules(package):
            if path.name == "__init__.py":  # a package's marker: its folder's row says what it holds
                continue
            relative = path.relative_to(ROOT).as_posix()
            folder, name = relative.rpartition("/")[0] + "/", path.name
            if not any(f"`{relative}`" in row or (f"`{folder}`" in row.split("|")[1] and name in row) for row in rows):
                missing.append(relative)
    assert missing == [], "add these to the README's code layout: " + ", ".join(missing)
