"""What the route handlers depend on, wired once by `create_app`: the core services (built lazily, as in the
Functions app), the token validator, and the orchestration starter. FastAPI dependencies read them from app state."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.audit_trail import record_denied
from api.auth import Principal, TokenValidator, bearer_token
from api.denials import DenialAggregator
from api.orchestrations import Orchestrations
from core.bootstrap import Services
from core.errors import AuthenticationError

# documents the scheme in OpenAPI; the token itself is read by `caller` (which also takes App Service
# Authentication's X-MS-TOKEN-AAD-ACCESS-TOKEN header)
BEARER = HTTPBearer(auto_error=False, description="An Entra ID access token for the API's app registration")


@dataclass
class ApiContext:
    services: Callable[[], Services]
    orchestrations: Orchestrations
    validator_factory: Callable[[Services], TokenValidator] = field(
        default=lambda services: TokenValidator(services.settings)
    )
    denials: DenialAggregator = field(default_factory=DenialAggregator)
    _validator: TokenValidator | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def validator(self) -> TokenValidator:
        with self._lock:
            if self._validator is None:
                self._validator = self.validator_factory(self.services())
            return self._validator


def context(request: Request) -> ApiContext:
    return request.app.state.context


def services(ctx: Annotated[ApiContext, Depends(context)]) -> Services:
    return ctx.services()


def caller(
    request: Request,
    ctx: Annotated[ApiContext, Depends(context)],
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Principal:
    """The authenticated caller; a 401 (audited) when there is no valid token."""
    try:
        return ctx.validator().validate(bearer_token(request.headers))
    except AuthenticationError as error:
        record_denied(ctx.services(), request, None, error, status=401)
        raise


Ctx = Annotated[ApiContext, Depends(context)]
Svc = Annotated[Services, Depends(services)]
Caller = Annotated[Principal, Depends(caller)]
