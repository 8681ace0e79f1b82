"""The links mail, contact and calendarView delta pages hand out, in one of two shapes (`/_sim/config` link_style):

- "query" (default): `.../messages/delta?$skiptoken=X` and `...?$deltatoken=X`, as the message, contact and
  event delta pages show them (https://learn.microsoft.com/graph/api/message-delta,
  https://learn.microsoft.com/graph/api/event-delta);
- "function": the token as an OData function parameter and no query string at all, `.../delta(token='X')`, the
  shape driveItem delta documents for its links (https://learn.microsoft.com/graph/api/driveitem-delta) and that
  national clouds hand out.

Either way a link is opaque: "you don't need to include those parameters in subsequent requests because they're
encoded in the token" and a client uses the whole URL as it was given (https://learn.microsoft.com/graph/
delta-query-overview, https://learn.microsoft.com/graph/delta-query-events). A function-shaped link carries all of
its query in the token, so a request that adds query options to it was edited by the client: it is refused with
400, as Graph refuses query options a request does not support."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse

from graphsim.delta_rounds import DeltaPage, Round, Sealer, SyncStateNotFound
from graphsim.errors import GraphError
from graphsim.odata import context, link, qp, select_of

FUNCTION_TOKEN = re.compile(r"\(token='[^']*'\)$")


def delta_link(request: Request, path: str, skip_token: str | None, delta_token: str | None) -> str:
    """The @odata.nextLink (with `skip_token`) or @odata.deltaLink (with `delta_token`) of a delta page."""
    path = FUNCTION_TOKEN.sub("", path)
    if request.app.state.sim.config.link_style == "function":
        return f"{request.app.state.sim.base_url}{path}(token='{skip_token or delta_token}')"
    if skip_token:
        return link(request, path, {"$skiptoken": skip_token})
    return link(request, path, {"$deltatoken": delta_token})


def delta_response(request: Request, path: str, page: DeltaPage, what: str, headers: dict[str, str]) -> JSONResponse:
    """A delta page as Graph answers it: @odata.context (of `what`), @odata.nextLink while the round has more pages
    or @odata.deltaLink on its last, then the value."""
    body: dict[str, Any] = {"@odata.context": context(request, what)}
    if page.next_token:
        body["@odata.nextLink"] = delta_link(request, path, page.next_token, None)
    else:
        body["@odata.deltaLink"] = delta_link(request, path, None, page.delta_token)
    body["value"] = page.value
    return JSONResponse(body, headers=headers)


def tokens_of(request: Request, sealer: Sealer) -> tuple[str | None, str | None]:
    """(skip token, delta token) of a delta request, from its query or its function-shaped path. Raises
    SyncStateNotFound for a function token the simulator did not seal."""
    token = request.path_params.get("token")
    if token is None:
        return qp(request, "$skiptoken"), qp(request, "$deltatoken")
    if request.query_params:
        names = ", ".join(sorted(request.query_params))
        raise GraphError(400, "ErrorInvalidUrlQuery", f"The query options '{names}' are not supported on this "
                         "request: its link encodes its whole query.")  # fmt: skip
    kind = sealer.unseal(token).get("k")
    return (token, None) if kind == "s" else (None, token)


def function_routes(path: str) -> str:
    """The route of a delta function's function-shaped links."""
    return f"{path}(token='{{token}}')"


class FolderRounds(Protocol):
    """What a folder delta (mailFolders, contactFolders) asks of its surface's delta engine."""

    def resolve_skip(self, token: str, mailbox: Any, scope: str) -> tuple[Round, int]: ...

    def resolve_delta(self, token: str, mailbox: Any, scope: str) -> dict[str, Any]: ...


StartRound = Callable[[int | None, list[str] | None], Round]  # (watermark or None, $select) -> a new round


def folder_round(request: Request, sealer: Sealer, engine: FolderRounds, mailbox: Any, scope: str,
                 start: StartRound, headers: dict[str, str]) -> tuple[Round, int]:  # fmt: skip
    """The round and offset a folder delta request reads: a skip token's page of its round; from a delta token, a new
    round of what changed since its watermark, with the chain's $select; else a first round of every folder with
    the request's $select. A garbled, stale or foreign token is
    410 SyncStateNotFound (https://learn.microsoft.com/graph/delta-query-overview, "sync state" errors)."""
    try:
        skip, delta_token = tokens_of(request, sealer)
        if skip:
            return engine.resolve_skip(skip, mailbox, scope)
        if delta_token:
            state = engine.resolve_delta(delta_token, mailbox, scope)
            return start(int(state["w"]), state["s"]), 0
        return start(None, select_of(request)), 0
    except SyncStateNotFound as exc:
        raise GraphError(410, "SyncStateNotFound", str(exc), headers) from None
