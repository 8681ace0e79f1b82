"""Graph-shaped error responses: {"error": {"code", "message", "innerError": {"date", "request-id", ...}}}."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


async def json_object(request: Request, code: str, empty_ok: bool = True) -> dict[str, Any]:
    """The request body as a JSON object ({} for an empty body when `empty_ok`); a 400 with `code` otherwise (each
    Graph surface answers with its own code: RequestBodyRead for Outlook, invalidRequest for drives)."""
    if empty_ok and not await request.body():
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise GraphError(400, code, "Invalid JSON in the request body.") from None
    if not isinstance(body, dict):
        raise GraphError(400, code, "The request body must be a JSON object.")
    return body


def request_ids(request: Request) -> tuple[str, str]:
    """(request-id, client-request-id) for a request, made once and kept on request.state."""
    if not hasattr(request.state, "request_id"):
        request.state.request_id = str(uuid.uuid4())
    client = request.headers.get("client-request-id") or request.state.request_id
    return request.state.request_id, client


def graph_error(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    request_id, client_request_id = request_ids(request)
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }
    all_headers = {"request-id": request_id, "client-request-id": client_request_id, **(headers or {})}
    return JSONResponse(body, status_code=status, headers=all_headers)


def oauth_error(status: int, error: str, code: int, description: str) -> JSONResponse:
    """An Entra ID (AADSTS) OAuth error body, as the token endpoint answers."""
    trace = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC)
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {uuid.uuid4()} "
        f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}",
        "error_codes": [code],
        "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": trace,
        "correlation_id": str(uuid.uuid4()),
    }
    return JSONResponse(body, status_code=status)
