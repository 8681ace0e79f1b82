"""Graph beta routes of the in-place archive ("Use Mail APIs with Exchange archive mailboxes",
https://learn.microsoft.com/graph/archive-mailbox-mail-api): `GET /beta/users/{id}/settings/exchange` (exchangeSettings,
https://learn.microsoft.com/graph/api/resources/exchangesettings?view=graph-rest-beta) names a user's primary and
archive mailbox ids; the archive is then read through the beta Mail API addressed by that id. The reads are the mail
routes' own handlers (graphsim/mail/routes.py) run on the archive's store; what is the archive's:

- an expanded folder's messages (delta, list, a message, its $value) asked at the main archive's id answer
  **308 Permanent Redirect** with a `Location` naming the auxiliary archive ("Handle archive mailbox redirects",
  https://learn.microsoft.com/graph/handle-archive-mailbox-redirects: the folder id stays, the mailbox id changes);
  so does a message read by id at the main archive when an auxiliary archive holds it. Links the auxiliary archive
  hands out (nextLink, deltaLink) name it;
- well-known folder names are not supported in archive mailboxes (the guide: reference folders by id): a request
  naming one answers 400 ErrorInvalidRequest (the simulator's choice of shape; the guide documents none);
- the guide documents listing messages, creating folders and syncing message changes, not creating messages: a
  message POST into an archive is refused with 400 ErrorInvalidRequest (the simulator's reading of the guide); the
  documented way in is the mailbox import API (graphsim/mailbox_import/), whose imports these reads then show;
- an id that is not an archive's answers 404 ErrorInvalidUser here, and the v1.0 routes never find an archive id
  (the v1.0 mail API "does not support accessing in-place archive mailboxes")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.archive.store import Archive, archive_of, find_store, mailbox_id
from graphsim.delta_links import function_routes
from graphsim.errors import GraphError
from graphsim.mail import routes as mail
from graphsim.mail.store import WELL_KNOWN
from graphsim.simulator import Context, graph_route
from graphsim.tenant import User

ARCHIVE_WELL_KNOWN = {*WELL_KNOWN, "outbox", "conversationhistory", "recoverableitemsdeletions", "searchfolders"}


@graph_route("exchange_settings")
async def exchange_settings(request: Request, ctx: Context) -> Response:
    """exchangeSettings of a user with a mailbox (one without answers 404 MailboxNotEnabledForRESTAPI, as the mail
    routes do): primaryMailboxId always, inPlaceArchiveMailboxId only when the user has an archive."""
    user = ctx.user
    assert user is not None
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.sim.base_url}/beta/$metadata#users('{user.id}')/settings/exchange/$entity",
        "primaryMailboxId": mailbox_id(ctx.sim.tenant, ctx.sim.seed, user.id, "primary"),
    }
    archive = archive_of(user)
    if archive is not None:
        body["inPlaceArchiveMailboxId"] = archive.main.id
    return JSONResponse(body)


def _store(request: Request, ctx: Context) -> tuple[Archive, User]:
    found = find_store(ctx.sim.tenant, request.path_params["mbx"])
    if found is None:
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{request.path_params['mbx']}' is invalid.")
    return found


def _folder_ref(store: User, request: Request) -> str:
    """The folder a request names, by id: a well-known name is refused (not supported in archive mailboxes)."""
    ref = request.path_params["folder"]
    assert store.mailbox is not None
    if ref not in store.mailbox.folders and ref.lower() in ARCHIVE_WELL_KNOWN:
        raise GraphError(400, "ErrorInvalidRequest", "Well-known folder names are not supported in archive "
                         "mailboxes; reference the folder by its id.")  # fmt: skip
    return ref


def _redirect(request: Request, ctx: Context, target: User) -> Response:
    """308 to the same request at another archive store (the mailbox id in the path swapped, the rest kept)."""
    _empty, version, users, _mbx, rest = request.url.path.split("/", 4)
    location = f"{ctx.sim.base_url}/{version}/{users}/{target.id}/{rest}"
    if request.url.query:
        location += f"?{request.url.query}"
    return Response(status_code=308, headers={"Location": location})


def _served(handler: Any, redirect_expanded: bool = False) -> Any:
    """A mail route's handler run on the archive store the path names (redirected to the store holding an expanded
    folder's content when `redirect_expanded`)."""

    async def serve(request: Request, ctx: Context) -> Response:
        archive, store = _store(request, ctx)
        if "folder" in request.path_params:
            folder = _folder_ref(store, request)
            holder = archive.holder(folder)
            if redirect_expanded and store is archive.main and holder is not store:
                return _redirect(request, ctx, holder)
        elif "message" in request.path_params:
            found = archive.folder_of_message(request.path_params["message"])
            if found is not None and found[0] is not store:
                return _redirect(request, ctx, found[0])
        return await handler.__wrapped__(request, Context(ctx.sim, store))

    serve.__name__ = getattr(handler, "__name__", "archive_read")
    return serve


async def _refuse_create(request: Request, ctx: Context) -> Response:
    _store(request, ctx)
    raise GraphError(400, "ErrorInvalidRequest", "Creating messages in an archive mailbox is not supported through "
                     "the Mail API.")  # fmt: skip


def archive_routes() -> list[Route]:
    u = "/beta/users/{mbx}"
    f = f"{u}/mailFolders/{{folder}}"
    delta = graph_route("archive_delta", mail=False)(_served(mail.message_delta, redirect_expanded=True))
    read = graph_route("archive_messages", mail=False)
    folders = graph_route("archive_folders", mail=False)
    value = graph_route("archive_value", mail=False)
    refuse = graph_route("archive_create", mail=False)(_refuse_create)
    return [
        Route("/beta/users/{user}/settings/exchange", exchange_settings),
        Route(f"{u}/mailFolders", folders(_served(mail.list_top_folders))),
        Route(f"{f}/childFolders", folders(_served(mail.list_child_folders))),
        Route(f"{u}/mailFolders('{{folder}}')/messages/delta", delta),
        Route(function_routes(f"{u}/mailFolders('{{folder}}')/messages/delta"), delta),
        Route(f"{f}/messages/delta", delta),
        Route(f"{f}/messages", read(_served(mail.list_folder_messages, redirect_expanded=True))),
        Route(f"{f}/messages", refuse, methods=["POST"]),
        Route(f"{f}/messages/{{message}}/$value", value(_served(mail.get_message_value, redirect_expanded=True))),
        Route(f"{f}/messages/{{message}}", read(_served(mail.get_message, redirect_expanded=True))),
        Route(f, folders(_served(mail.get_folder))),
        Route(f"{u}/messages", refuse, methods=["POST"]),
        Route(f"{u}/messages/{{message}}/$value", value(_served(mail.get_message_value))),
        Route(f"{u}/messages/{{message}}", read(_served(mail.get_message))),
    ]
