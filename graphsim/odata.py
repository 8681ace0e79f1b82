"""OData request parameters and response shaping shared by every simulated Graph surface: query parameters,
$select, bounded integers, @odata links and contexts."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request

from graphsim.errors import GraphError


def qp(request: Request, name: str) -> str | None:
    """Query parameter, case-insensitive, with or without the '$' prefix."""
    wanted = {name.lower(), name.lower().lstrip("$")}
    return next((v for k, v in request.query_params.items() if k.lower() in wanted), None)


def select_of(request: Request) -> list[str] | None:
    raw = qp(request, "$select")
    return [s.strip() for s in raw.split(",") if s.strip()] if raw else None


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = qp(request, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option {name}.") from None
    if not low <= value <= high:
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option {name}.")
    return value


def link(request: Request, path: str, params: dict[str, Any]) -> str:
    base = request.app.state.sim.base_url
    query = urlencode({k: v for k, v in params.items() if v is not None}, quote_via=quote, safe="$,'()")
    return f"{base}{path}?{query}"


def context(request: Request, what: str) -> str:
    return f"{request.app.state.sim.base_url}/v1.0/$metadata#{what}"


def pick(item: dict[str, Any], select: list[str] | None, always: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    if select is None:
        return item
    keep = {*select, *always, "@odata.type", "@odata.etag"}
    lowered = {s.lower() for s in keep}
    return {k: v for k, v in item.items() if k in keep or k.lower() in lowered}
