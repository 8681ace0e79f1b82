"""RFC 9457 problem details: every error the API answers is `application/problem+json`, mapped from the exception
tree in core/errors.py in one place.

    AuthenticationError   401 (with WWW-Authenticate: Bearer)     InvalidRequestError   400
    PermissionDeniedError 403                                     NotFoundError         404
    AlreadyRunningError   409     LegalHoldError 409              body too large        413
    request schema        422 (malformed JSON: 400)               StorageError/GraphError 502 (503 when throttled)
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    AlreadyRunningError,
    AuthenticationError,
    BackupError,
    GraphError,
    GraphThrottled,
    InvalidRequestError,
    LegalHoldError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
)

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://github.com/m365-backup/docs/problems/"  # documentation anchors; the API never fetches them

_STATUS: list[tuple[type[BaseException], HTTPStatus, str]] = [
    (AuthenticationError, HTTPStatus.UNAUTHORIZED, "unauthenticated"),
    (PermissionDeniedError, HTTPStatus.FORBIDDEN, "forbidden"),
    (NotFoundError, HTTPStatus.NOT_FOUND, "not-found"),
    (InvalidRequestError, HTTPStatus.BAD_REQUEST, "invalid-request"),
    (AlreadyRunningError, HTTPStatus.CONFLICT, "already-running"),
    (LegalHoldError, HTTPStatus.CONFLICT, "legal-hold"),
    (GraphThrottled, HTTPStatus.SERVICE_UNAVAILABLE, "graph-throttled"),
    (GraphError, HTTPStatus.BAD_GATEWAY, "graph-error"),
    (StorageError, HTTPStatus.BAD_GATEWAY, "storage-error"),
]


class BodyTooLarge(Exception):
    """A request body over the API's limit."""


def problem(
    status: int, detail: str, kind: str = "", headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body = {
        "type": TYPE_BASE + kind if kind else "about:blank",
        "title": phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(error: BaseException) -> tuple[int, str]:
    for cls, status, kind in _STATUS:
        if isinstance(error, cls):
            return int(status), kind
    return 500, "internal"


def response_for(error: BaseException, request: Request | None = None) -> JSONResponse:
    status, kind = status_of(error)
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    instance = str(request.url.path) if request is not None else None
    return problem(
        status, str(error) or HTTPStatus(status).phrase, kind, headers, **({"instance": instance} if instance else {})
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors()[:50]:
        location = [str(p) for p in error.get("loc", ())]
        errors.append({"location": location, "message": str(error.get("msg", "")), "type": str(error.get("type", ""))})
    return errors


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(BackupError)
    async def _backup_error(request: Request, exc: BackupError) -> JSONResponse:
        status, _ = status_of(exc)
        if status >= 500:
            log.warning("%s %s failed: %s", request.method, request.url.path, exc)
        return response_for(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(
                400, "the body is not valid JSON", "malformed-json", errors=errors, instance=request.url.path
            )
        detail = "; ".join(f"{'.'.join(e['location'])}: {e['message']}" for e in errors[:5])
        return problem(422, detail or "the request does not match the schema", "invalid-request", errors=errors,
                       instance=request.url.path)  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path}"
        return problem(exc.status_code, detail, headers=dict(exc.headers or {}), instance=request.url.path)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return problem(413, str(exc), "body-too-large", instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s raised", request.method, request.url.path)
        return problem(500, "an unexpected error; it has been logged", "internal", instance=request.url.path)
