"""The simulator's Starlette application: identity, Graph v1.0 (mail, drives, contacts, calendars) and the /_sim
control API, composed from the route modules of each surface. The state they share is graphsim/simulator.py's."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from graphsim.archive.control_routes import archive_control_routes
from graphsim.archive.routes import archive_routes
from graphsim.batch import batch_routes
from graphsim.chats.control_routes import chats_control_routes
from graphsim.chats.routes import chat_routes
from graphsim.control_routes import control_routes
from graphsim.drives.control_routes import drive_control_routes
from graphsim.drives.routes import drive_routes
from graphsim.drives.shares import share_routes
from graphsim.errors import graph_error
from graphsim.groups.control_routes import group_control_routes, group_routes
from graphsim.identity.api_token_routes import api_token_routes
from graphsim.identity.authorize_routes import authorize_routes
from graphsim.identity.routes import identity_routes
from graphsim.identity.user_routes import user_routes
from graphsim.lists.control_routes import list_control_routes
from graphsim.lists.routes import list_routes
from graphsim.mail.attachment_routes import mail_attachment_routes
from graphsim.mail.control_routes import mail_control_routes
from graphsim.mail.routes import mail_routes
from graphsim.mail.settings_routes import mailbox_settings_routes
from graphsim.mailbox_import.control_routes import mailbox_import_control_routes
from graphsim.mailbox_import.routes import mailbox_import_routes
from graphsim.pim.calendar_routes import calendar_routes
from graphsim.pim.contact_folder_delta import contact_folder_delta_routes
from graphsim.pim.contact_routes import contact_routes
from graphsim.pim.control_routes import pim_control_routes
from graphsim.route_index import IndexedRouter
from graphsim.simulator import Simulator
from graphsim.teams.control_routes import teams_control_routes
from graphsim.teams.routes import teams_routes
from graphsim.todo.attachment_routes import todo_attachment_routes
from graphsim.todo.control_routes import todo_control_routes
from graphsim.todo.routes import todo_routes

__all__ = ["Simulator", "create_app"]


def create_app(sim: Simulator) -> Starlette:
    routes: list[BaseRoute] = [*control_routes(), *mail_control_routes(), *drive_control_routes(),
                               *pim_control_routes(), *user_routes(), *mail_routes(), *mail_attachment_routes(),
                               *drive_routes(), *contact_routes(), *calendar_routes(), *identity_routes(),
                               *api_token_routes(), *mailbox_settings_routes()]  # fmt: skip
    routes[:0] = batch_routes()  # JSON batching: POST /v1.0/$batch (graphsim/batch.py)
    routes[:0] = contact_folder_delta_routes()  # before contact_routes' contactFolders/{folder}: 'delta' is no id
    routes += [*todo_control_routes(), *todo_routes(), *todo_attachment_routes()]  # To Do (graphsim/todo/)
    routes += [*list_control_routes(), *list_routes()]  # SharePoint lists (graphsim/lists/)
    routes += [*teams_control_routes(), *teams_routes()]  # Teams (graphsim/teams/)
    routes += share_routes()  # a drive item by sharing URL (graphsim/drives/shares.py)
    routes += [*chats_control_routes(), *chat_routes()]  # Teams chats (graphsim/chats/)
    routes += [*group_control_routes(), *group_routes()]  # group conversations, membership (graphsim/groups/)
    routes += [*archive_control_routes(), *archive_routes()]  # in-place archives, beta (graphsim/archive/)
    routes += [*mailbox_import_control_routes(), *mailbox_import_routes()]  # import/export (graphsim/mailbox_import/)
    routes += authorize_routes()  # interactive sign-in of single-page apps (graphsim/identity/)
    app = Starlette(routes=routes)
    app.router = IndexedRouter(routes)  # the routes that could match a path asked first (graphsim/route_index.py)
    app.state.sim = sim

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if status == 405:
            return graph_error(request, 405, "Request_BadRequest", "The HTTP method is not allowed on this resource.")
        return graph_error(request, 404, "BadRequest", f"Resource not found for the segment '{request.url.path}'.")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, not_found)
    return app
