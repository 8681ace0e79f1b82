"""The simulator's state (Simulator: tenant, token issuer, delta rounds, faults, limits, stats, the file and PIM
services) and the gate every Graph request passes (graph_route, Context). Imports no routes: route modules import
it, and graphsim/app.py composes them into the ASGI app."""

from __future__ import annotations

import asyncio
import secrets
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from graphsim.archive.seed import seed_archives
from graphsim.batch import is_inner
from graphsim.chats.service import ChatsService
from graphsim.delta_rounds import Sealer
from graphsim.drives.service import DriveService
from graphsim.errors import GraphError, graph_error, request_ids
from graphsim.groups.service import GroupsService
from graphsim.identity.sign_in import SignIn
from graphsim.identity.tokens import TokenError, TokenIssuer
from graphsim.limits import DRIVE_KINDS, Config, Faults, MailboxLimiter, Stats, format_retry_after
from graphsim.lists.service import ListService
from graphsim.mail.delta import MailDelta
from graphsim.mail.seed import seed_tenant
from graphsim.pim.service import PimService
from graphsim.teams.seed import link_team_files
from graphsim.teams.service import TeamsService
from graphsim.tenant import Tenant, User
from graphsim.todo.service import TodoService

GRAPH_AUDIENCE = "https://graph.microsoft.com"
MAX_OUTLOOK_REQUEST = 4 * 1024 * 1024  # bytes of one Outlook request body
Handler = Callable[[Request, "Context"], Awaitable[Response]]


@dataclass
class Context:
    sim: Simulator
    user: User | None
    headers: dict[str, str] = field(default_factory=dict)  # added to the handler's answer (RateLimit-*)


class Simulator:
    def __init__(
        self,
        base_url: str,
        seed: int = 1,
        users: int = 3,
        messages: int = 20,
        config: Config | None = None,
        drive_files: int = 12,
        sites: int = 2,
        state_dir: Path | None = None,
        contacts: int = 6,
        events: int = 6,
        tasks: int = 4,
        shared_mailboxes: int = 0,
        list_items: int = 4,
        teams: int = 1,
        channel_messages: int = 4,
        chat_users: int = 1,
        chat_messages: int | None = None,  # messages per seeded chat (None: the seed's 3 one-on-one, 2 others)
        group_posts: int = 3,
        archive_messages: int = 3,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.seed = seed
        self.tenant: Tenant = seed_tenant(seed, users, messages, shared_mailboxes)
        seed_archives(self.tenant, seed, archive_messages)  # in-place archives (graphsim/archive/)
        self.client_id = str(uuid.UUID(int=uuid.uuid5(uuid.NAMESPACE_URL, f"graphsim-app:{seed}").int))
        self.client_secret = "sim~" + secrets.token_urlsafe(30)
        self.client_cert: x509.Certificate | None = None
        self.client_cert_file: Path | None = None
        self.config = config or Config()
        self.issuer = TokenIssuer(
            issuer=f"{self.base_url}/{self.tenant.tenant_id}/v2.0",
            tenant_id=self.tenant.tenant_id,
            client_id=self.client_id,
            audiences=(GRAPH_AUDIENCE, self.base_url, "00000003-0000-0000-c000-000000000000"),
            lifetime=self.config.token_lifetime,
        )
        self.sign_in = SignIn(self.issuer)  # interactive sign-in of single-page apps (graphsim/identity/sign_in.py)
        self.sealer = Sealer()  # one key for every sealed token: delta rounds and paged collections
        self.delta = MailDelta(self.sealer)  # message delta; contact and calendarView delta share its generations
        self.faults = Faults()
        self.stats = Stats()
        self.limiter = MailboxLimiter()
        self.files = DriveService(self.tenant, self.sealer, seed, drive_files, sites, state_dir)
        self.lists = ListService(self.tenant, self.files.store, self.sealer, seed, list_items)  # SharePoint lists
        self.pim = PimService(self.tenant, self.delta, seed, contacts, events)  # contacts and calendars
        self.todo = TodoService(self.tenant, self.delta, seed, tasks)  # To Do lists and tasks
        self.teams = TeamsService(self.tenant, self.sealer, self.base_url, seed, teams, channel_messages)
        link_team_files(self.teams.store, self.files.store, seed)  # the file a team shares, in the team's site
        self.chats = ChatsService(self.teams, self.base_url, seed, chat_users, chat_messages)  # graphsim/chats/
        self.groups = GroupsService(self.tenant, self.teams.store, seed, group_posts)  # group conversations
        self.mail_uploads: dict[str, Any] = {}  # message attachment upload sessions by token

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    def count(self, kind: str) -> None:
        self.stats.total += 1
        self.stats.by_kind[kind] += 1

    def ready_info(self, ca_file: Path) -> dict[str, str]:
        info = {
            "base_url": self.base_url,
            "ca_file": str(ca_file),
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        if self.client_cert_file is not None:
            info["client_certificate_file"] = str(self.client_cert_file)
        return info

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not token or scheme.lower() != "bearer":
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            self.issuer.check(token.strip())
        except TokenError as exc:
            raise GraphError(401, "InvalidAuthenticationToken", str(exc)) from exc

    async def run_graph(self, request: Request, kind: str, handler: Handler, mail: bool) -> Response:
        """Every /v1.0 request: count, authenticate, faults, mailbox limits, latency, then the handler."""
        self.count(kind)
        inner = is_inner(request)  # one request of a $batch: counted, throttled and answered as any
        self.stats.batched += inner
        if request.method in ("POST", "PATCH", "PUT", "DELETE"):
            self.stats.writes += 1
        user: User | None = None
        counted_user: str | None = None
        try:
            self._authenticate(request)
            ref = request.path_params.get("user")
            if ref is not None:
                user = self.tenant.resolve_user(ref)
            fault = self.faults.take_throttle(user.id if user else None, kind)
            if fault is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                if fault.status == 503:
                    raise GraphError(503, "ServiceUnavailable", "Service is temporarily unavailable.", headers)
                if fault.status >= 500:  # a server error of this one request (also inside a $batch)
                    raise GraphError(fault.status, "ErrorInternalServerError", "An internal server error occurred.")
                raise GraphError(fault.status, "TooManyRequests", "Too many requests, retry later.", headers)
            if ref is not None and user is None:
                if mail:
                    raise GraphError(404, "ErrorInvalidUser", f"The requested user '{ref}' is invalid.")
                raise GraphError(404, "Request_ResourceNotFound", f"Resource '{ref}' does not exist or one of its "
                                 "queried reference-property objects are not present.")  # fmt: skip
            if user is not None:
                failure = self.faults.mailbox_failure(user.id)
                if failure is not None:
                    if failure.status == 403:
                        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
                    raise GraphError(failure.status, "ErrorInternalServerError", "An internal server error occurred.")
                if mail and user.mailbox is None:
                    message = "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
                    raise GraphError(404, "MailboxNotEnabledForRESTAPI", message)
                if mail:
                    wait = self.limiter.rate_wait(user.id, self.config.rate_limit)
                    if wait > 0:
                        headers = {"Retry-After": format_retry_after(wait)}
                        message = "Application is over its MailboxRequests limit."
                        raise GraphError(429, "ApplicationThrottled", message, headers)
                    if self.limiter.in_flight[user.id] >= self.config.mailbox_concurrency:
                        message = "Application is over its MailboxConcurrency limit."
                        raise GraphError(429, "ApplicationThrottled", message, {"Retry-After": "1"})
                    counted_user = user.id
                    self.limiter.in_flight[user.id] += 1
                    seen = self.stats.max_in_flight.get(user.id, 0)
                    self.stats.max_in_flight[user.id] = max(seen, self.limiter.in_flight[user.id])
            refs = [str(v) for v in request.path_params.values()]
            if self.faults.take_not_found(user.id if user else None, kind, refs) is not None:  # see Fault
                code = "itemNotFound" if kind in DRIVE_KINDS else "ErrorItemNotFound"
                raise GraphError(404, code, "The specified object was not found in the store.")
            if mail and int(request.headers.get("content-length") or 0) > MAX_OUTLOOK_REQUEST:
                # Outlook requests are limited to 4 MB ("Add attachment": use an upload session beyond 3 MB)
                raise GraphError(413, "ErrorRequestEntityTooLarge", "The request exceeds the maximum size of 4 MB.")
            if self.config.latency_ms > 0:
                await asyncio.sleep(self.config.latency_ms / 1000)
            ctx = Context(self, user)
            response = await handler(request, ctx)
            response.headers.update(ctx.headers)
        except GraphError as exc:
            response = graph_error(request, exc.status, exc.code, exc.message, exc.headers)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = (
                    f'Bearer realm="", authorization_uri="{self.base_url}/common/oauth2/authorize", '
                    'client_id="00000003-0000-0000-c000-000000000000"'
                )
        except Exception:  # a simulator bug: answer like Graph would, and leave a trace on stderr
            traceback.print_exc()
            response = graph_error(request, 500, "ErrorInternalServerError", "An internal server error occurred.")
        finally:
            if counted_user is not None:
                self.limiter.in_flight[counted_user] -= 1
        request_id, client_request_id = request_ids(request)
        response.headers.setdefault("request-id", request_id)
        response.headers.setdefault("client-request-id", client_request_id)
        self.stats.by_status[response.status_code] += 1
        if not inner and self.faults.take_reset(user.id if user else None, request.method) is not None:
            self.stats.resets += 1
            return _reset_after_headers(response)
        return response


def _reset_after_headers(response: Response) -> Response:
    """The response's status line and headers, then a dropped connection instead of its body (the reset_response
    fault): the work behind the request is done, the client learns nothing it can trust."""

    async def broken() -> AsyncIterator[bytes]:
        raise ConnectionAbortedError("graphsim: reset_response fault")
        yield b""  # pragma: no cover - makes this an async generator

    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
    return StreamingResponse(broken(), status_code=response.status_code, headers=headers)


def graph_route(kind: str, mail: bool = True) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a Graph handler with the simulator's gate (auth, faults, limits, latency, stats)."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            sim: Simulator = request.app.state.sim
            return await sim.run_graph(request, kind, handler, mail)

        endpoint.__name__ = handler.__name__
        endpoint.__wrapped__ = handler  # type: ignore[attr-defined]  # the handler, for routes that reuse it
        return endpoint

    return wrap
