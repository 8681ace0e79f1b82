"""Single-value extended properties on Outlook items (messages, contacts, events), as Graph documents them:

- set at creation with `singleValueExtendedProperties: [{"id": "<type> <guid|tag> ...", "value": "..."}]`
  ("Create singleValueLegacyExtendedProperty", learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-post-
  singlevalueextendedproperties);
- returned only when expanded: `$expand=singleValueExtendedProperties($filter=id eq '<id>')`;
- searched with `$filter=singleValueExtendedProperties/Any(ep: ep/id eq '<id>' and ep/value eq '<value>')`
  ("Get singleValueLegacyExtendedProperty", learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get).
Property ids compare case-insensitively (MAPI names); values are strings."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from graphsim.errors import GraphError

Properties = dict[str, tuple[str, str]]  # lower-cased id -> (id as given, value)

_ANY = re.compile(
    r"^\s*singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+\1/value\s+eq\s+"
    r"'((?:[^']|'')*)'\s*\)\s*$",
    re.IGNORECASE,
)
_EXPAND = re.compile(r"singleValueExtendedProperties\(\s*\$filter\s*=\s*id\s+eq\s+'((?:[^']|'')*)'\s*\)", re.I)
_ID = re.compile(r"^(String|Integer|SystemTime|Boolean|Long|Double|Binary)\s+(\{[0-9a-fA-F-]{36}\}\s+Name\s+\S.*|"
                 r"\{[0-9a-fA-F-]{36}\}\s+Id\s+0x[0-9a-fA-F]+|0x[0-9a-fA-F]{4})$")  # fmt: skip


def parse(body: dict[str, Any]) -> Properties:
    """The extended properties a create body sets; 400 ErrorInvalidExtendedPropertyId for malformed ones."""
    raw = body.get("singleValueExtendedProperties")
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise GraphError(400, "ErrorInvalidRequest", "singleValueExtendedProperties must be a collection.")
    props: Properties = {}
    for entry in raw:
        pid = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(pid, str) or not _ID.match(pid.strip()):
            raise GraphError(400, "ErrorInvalidExtendedPropertyId", f"The extended property id {pid!r} is invalid.")
        props[pid.strip().lower()] = (pid.strip(), str(entry.get("value", "")))
    return props


def value(props: Properties, pid: str) -> str | None:
    found = props.get(pid.lower())
    return found[1] if found else None


def filter_of(raw: str | None) -> Callable[[Properties], bool] | None:
    """A predicate for an `Any(ep: ...)` filter, or None when the filter is not of that form."""
    match = _ANY.match(raw or "")
    if not match:
        return None
    pid, wanted = match.group(2).replace("''", "'").lower(), match.group(3).replace("''", "'")
    return lambda props: pid in props and props[pid][1] == wanted


def expanded(request: Request) -> list[str]:
    """The property ids `$expand=singleValueExtendedProperties($filter=id eq '...')` asks for."""
    raw = request.query_params.get("$expand") or ""
    if raw and "singleValueExtendedProperties".lower() in raw.lower() and not _EXPAND.search(raw):
        raise GraphError(400, "BadRequest", "Expanding singleValueExtendedProperties needs a $filter on id.")
    return [m.group(1).replace("''", "'") for m in _EXPAND.finditer(raw)]


def render(props: Properties, wanted: list[str]) -> list[dict[str, str]]:
    out = []
    for pid in wanted:
        found = props.get(pid.lower())
        if found is not None:
            out.append({"id": found[0], "value": found[1]})
    return out
