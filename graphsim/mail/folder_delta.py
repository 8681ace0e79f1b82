"""mailFolder delta (https://learn.microsoft.com/graph/api/mailfolder-delta): `GET /users/{id}/mailFolders/delta`,
"a set of mail folders that have been added, deleted, or removed from the user's mailbox", so that a client can
"maintain and synchronize a local store of a user's mail folders without having to fetch all the mail folders of
that mailbox from the server every time".

What the simulator makes of that page:
- the collection is the mailbox's folders, not one level of them: the first round lists every folder below the
  root (msgfolderroot itself is not listed), child folders included and parents before children, each with its
  `parentFolderId` (the page's example response shows it); hidden folders are listed too (unlike
  `GET /mailFolders`, whose page says it leaves them out unless asked with includeHiddenFolders, the delta page
  names no such filter), with `isHidden`;
- a round from a delta token lists the folders made, renamed or moved since (their whole mailFolder object), and
  the folders deleted since as `{"id", "@removed": {"reason": "deleted"}}`
  (https://learn.microsoft.com/graph/delta-query-overview); a change to a folder's messages is not a change of the
  folder (message delta reports those, per folder);
- `$select` is given on the first request only, `Prefer: odata.maxpagesize` on every page (the page lists both);
  links and tokens are the mail delta's (graphsim/delta_rounds.py, graphsim/delta_links.py): a token of another
  scope, or of an older generation of the mailbox's tokens, is 410 SyncStateNotFound."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graphsim.delta_links import delta_response, folder_round, function_routes
from graphsim.delta_rounds import Round
from graphsim.mail.delta import MailDelta
from graphsim.mail.store import Mailbox
from graphsim.simulator import Context, graph_route

SCOPE = "mailFolders"  # the scope of a mailbox's folder delta tokens (a message delta token names its folder)
TYPE = "#microsoft.graph.mailFolder"
DEFAULT_PAGE = 10
MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


def folder_entries(mailbox: Mailbox, watermark: int | None) -> list[dict[str, Any]]:
    """Every folder (no watermark), or the folders changed since it and those deleted since it."""
    entries = [{"@odata.type": TYPE, **mailbox.folder_json(f)} for f in mailbox.tree()
               if watermark is None or f.seq > watermark]  # fmt: skip
    if watermark is not None:
        for removal in mailbox.folder_removals:
            if removal.seq > watermark and removal.message_id not in mailbox.folders:
                entries.append({"@odata.type": TYPE, "id": removal.message_id, "@removed": {"reason": "deleted"}})
    return entries


def start_round(engine: MailDelta, mailbox: Mailbox, watermark: int | None, select: list[str] | None) -> Round:
    baseline = {"w": mailbox.seq, "s": select, "c": None}
    entries = folder_entries(mailbox, watermark)
    return engine.rounds.start(SCOPE, entries, baseline, engine.epoch_of(mailbox), select=select)


@graph_route("folders")
async def mail_folder_delta(request: Request, ctx: Context) -> Response:
    user = ctx.user
    assert user is not None and user.mailbox is not None
    mailbox = user.mailbox
    engine = ctx.sim.delta
    match = MAXPAGESIZE.search(request.headers.get("prefer", ""))
    size = max(1, int(match.group(1))) if match else DEFAULT_PAGE
    headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if match else {}

    def start(watermark: int | None, select: list[str] | None) -> Round:
        return start_round(engine, mailbox, watermark, select)

    round_, offset = folder_round(request, ctx.sim.sealer, engine, mailbox, SCOPE, start, headers)
    path = f"/v1.0/users/{user.id}/mailFolders/delta"
    return delta_response(request, path, engine.page(round_, offset, size), "Collection(mailFolder)", headers)


def folder_delta_routes(users: str) -> list[Route]:
    """Before `{users}/mailFolders/{folder}`: 'delta' is not a folder id."""
    routes = []
    for mf in ("mailFolders", "mailfolders", "MailFolders"):
        routes += [
            Route(f"{users}/{mf}/delta", mail_folder_delta),
            Route(function_routes(f"{users}/{mf}/delta"), mail_folder_delta),
            Route(f"{users}/{mf}/microsoft.graph.delta()", mail_folder_delta),
        ]
    return routes
