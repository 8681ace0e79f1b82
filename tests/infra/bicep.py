"""Read the Bicep templates with pycep (the parser checkov uses) and walk what it returns.

pycep turns a template into JSON-like dicts: `parameters`, `variables`, `resources`, `modules`, `outputs`.
Expressions stay trees: `{"operator": {...}}` and `{"function": {...}}`. An identifier and a string literal both
come out as a plain `str` (the parser does not tell them apart), so tests that expect an identifier also check
that the name is declared (a parameter or a variable).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MODULES = INFRA / "modules"


@cache
def _parser() -> BicepParser:
    return BicepParser()  # building the grammar takes most of a second: build it once


@cache
def parse(relative: str) -> dict[str, Any]:
    """The parsed template at `infra/<relative>` (e.g. "main.bicep", "modules/roles.bicep")."""
    return _parser().parse(file_path=INFRA / relative)


def all_templates() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def config(declaration: dict[str, Any]) -> dict[str, Any]:
    """The body of a resource or module, looking through `for` loops and `if` conditions."""
    body = declaration["config"]
    while "config" in body and ("loop_type" in body or "condition" in body):
        body = body["config"]
    return body


def resources(template: dict[str, Any], type_: str, *, existing: bool = False) -> dict[str, dict[str, Any]]:
    """Symbolic name -> declaration of the template's resources of one type."""
    return {
        name: res
        for name, res in template.get("resources", {}).items()
        if res["type"] == type_ and bool(res.get("existing")) == existing
    }


def only(template: dict[str, Any], type_: str) -> dict[str, Any]:
    """The body of the one (non-existing) resource of `type_` in the template."""
    found = resources(template, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return config(next(iter(found.values())))


def accessor(expr: Any) -> str:
    """`a.b.c` / `a::b::c` / `a[i].b` expressions flattened to a dotted string (other values: repr)."""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, dict) and "operator" in expr:
        op = expr["operator"]
        if op["type"] in ("property_accessor", "nested_resource_accessor"):
            operands = op["operands"]
            return f"{accessor(operands['operand_1'])}.{accessor(operands['operand_2'])}"
        if op["type"] == "index_accessor":  # a loop's `items[i]`
            operands = op["operands"]
            return f"{accessor(operands['operand_1'])}[{accessor(operands['operand_2'])}]"
    return repr(expr)


def conditional(expr: Any) -> tuple[Any, Any, Any]:
    """(condition, true_value, false_value) of `cond ? a : b`.

    pycep nests `x == 'y' ? a : b` as equals(x, conditional('y', a, b)); this returns (('==', x, 'y'), a, b)
    for that shape.
    """
    op = expr["operator"]
    if op["type"] == "conditional":
        o = op["operands"]
        return o["condition"], o["true_value"], o["false_value"]
    if op["type"] == "equals":
        left = op["operands"]["operand_1"]
        inner = op["operands"]["operand_2"]["operator"]
        assert inner["type"] == "conditional", expr
        o = inner["operands"]
        return ("==", left, o["condition"]), o["true_value"], o["false_value"]
    raise AssertionError(f"not a conditional: {expr!r}")


def function(expr: Any, name: str) -> dict[str, Any]:
    """The parameters of a call to `name(...)`, asserting that `expr` is that call."""
    assert isinstance(expr, dict) and "function" in expr, f"expected {name}(...), got {expr!r}"
    assert expr["function"]["type"] == name, f"expected {name}(...), got {expr['function']['type']}(...)"
    return expr["function"]["parameters"]


def module_params(template: dict[str, Any], symbolic_name: str) -> dict[str, Any]:
    return config(template["modules"][symbolic_name])["params"]


def module_path(template: dict[str, Any], symbolic_name: str) -> str:
    return template["modules"][symbolic_name]["detail"]["path"]


def decorators(declaration: dict[str, Any]) -> dict[str, Any]:
    return {d["type"]: d.get("argument") for d in declaration.get("decorators", [])}
