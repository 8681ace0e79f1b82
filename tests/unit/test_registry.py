"""The registry is the one place that names workloads and categories: every other layer asks it, so a new workload
is one package and one registry line, and nothing falls silently into another workload's path."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from api.schemas import RESOURCE_PATTERN, RestoreBody
from core.errors import InvalidRequestError
from core.restore_request import RestoreRequest
from core.workloads import registry

ROOT = Path(__file__).resolve().parents[2]
# where names may be spelled out: the registry and the workload packages themselves
OWNERS = (ROOT / "core" / "workloads",)
LAYERS = [ROOT / "core", ROOT / "api", ROOT / "blueprints", ROOT / "function_app.py"]
# the same words used for something else: (file, text) -> why
NOT_A_CATEGORY = {
    ("core/selectors.py", "mail"): "the Graph user property 'mail' (a user's address)",
    ("core/storage/directory.py", "mail"): "a resource's mail address, as Graph names the property",
    ("core/report.py", "mail"): "a resource's mail address, as Graph names the property",
    ("core/resource_names.py", "groups"): "the Graph collection /groups, where a mail address is looked up",
    ("core/graph/ru_budget.py", "groups"): "the Graph collection /groups, whose drives SharePoint budgets in RUs",
}


def _names() -> set[str]:
    names = set(registry.workload_names()) | set(registry.category_names())
    folders = {c.folder_category for w in registry.WORKLOADS.values() for c in w.categories}
    return names | (folders - {"folder"})  # 'folder' is also every scope's key of a folder path


def _sources() -> list[Path]:
    files: list[Path] = []
    for layer in LAYERS:
        files += [layer] if layer.is_file() else sorted(layer.rglob("*.py"))
    return [f for f in files if not any(f.is_relative_to(owner) for owner in OWNERS)]


def _literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string constant in the module (f-string parts included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_no_layer_outside_the_workload_packages_names_a_workload_or_a_category():
    names = _names()
    keyed = tuple(f"{w}:" for w in registry.workload_names())
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in _sources()
        for line, text in _literals(path)
        if (text in names or text.startswith(keyed)) and (path.relative_to(ROOT).as_posix(), text) not in NOT_A_CATEGORY
    ]
    assert found == [], "ask core/workloads/registry.py instead:\n" + "\n".join(found)


def test_the_check_reads_the_layers_it_guards():
    sources = {p.relative_to(ROOT).as_posix() for p in _sources()}
    assert {
        "core/restore_plan.py",
        "core/cli.py",
        "api/schemas.py",
        "api/access.py",
        "core/exports/downloads.py",
    } <= sources
    assert not any(s.startswith("core/workloads/") for s in sources)


def test_every_category_declares_what_the_layers_ask_of_it():
    for workload in registry.WORKLOADS.values():
        assert workload.categories, workload.name
        for category in workload.categories:
            assert category.conflicts and set(category.conflicts) <= {"skip", "keep-both", "replace", "fail"}
            assert category.folder_category and category.folder_category != category.name
            for hook in (category.select, category.restore, category.download, category.export_zip):
                assert callable(hook), (workload.name, category.name)


def test_the_api_schema_enums_are_the_registry_names():
    schema = RestoreBody.model_json_schema()
    enum = next(option["enum"] for option in schema["properties"]["category"]["anyOf"] if "enum" in option)
    assert tuple(enum) == registry.category_names()
    for workload in registry.workload_names():
        assert re.match(RESOURCE_PATTERN, f"{workload}:abc")
    assert not re.match(RESOURCE_PATTERN, "nosuchworkload:abc")


def test_a_request_takes_its_workload_default_category_and_refuses_another_workloads():
    for workload in registry.WORKLOADS.values():
        request = RestoreRequest(resource=f"{workload.name}:u1", whole=True)
        assert request.category == workload.categories[0].name
        assert request.kind is workload.categories[0]
    refused = 0
    for w in registry.WORKLOADS.values():
        foreign = [n for n in registry.category_names() if n not in {c.name for c in w.categories} | set(w.aliases)]
        for name in foreign:
            with pytest.raises(InvalidRequestError, match="category must be one of"):
                RestoreRequest(resource=f"{w.name}:u1", whole=True, category=name)
            refused += 1
    assert refused > 0


def test_an_unknown_workload_is_refused_by_name():
    with pytest.raises(InvalidRequestError, match="unknown workload 'nosuch'"):
        registry.workload_of("nosuch:u1")
    with pytest.raises(InvalidRequestError, match="unknown workload"):
        RestoreRequest(resource="nosuch:u1", whole=True)
