"""/_sim control API for group conversations and membership (not Graph; no auth): every group's threads and posts as
members see them, the copies delivered to members' inboxes, and a user posting (a new thread or a reply) or an
admin changing membership as the portal would (the changes group delta then reports)."""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.control_api import control, control_body, sim_of
from graphsim.errors import GraphError
from graphsim.groups.routes import get_group
from graphsim.groups.service import GroupsService
from graphsim.groups.store import Post
from graphsim.groups.write_routes import add_post
from graphsim.simulator import Context
from graphsim.teams.store import Group


def _service(request: Request) -> GroupsService:
    return sim_of(request).groups  # type: ignore[attr-defined,no-any-return]


def _group(request: Request) -> Group:
    group = _service(request).group(request.path_params["group"])
    if group is None:
        raise GraphError(404, "NotFound", "no such group")
    return group


def _view(post: Post) -> dict[str, Any]:
    return {**post.data, "inReplyTo": post.in_reply_to,
            "attachments": [{**a.to_json(), "contentBytes": base64.b64encode(a.data).decode()}
                            for a in post.attachments]}  # fmt: skip


@control
async def groups_state(request: Request) -> Response:
    service = _service(request)
    groups = []
    for group in service.groups.groups.values():
        threads = [{**t.to_json(), "posts": [_view(p) for p in t.posts.values()]}
                   for t in service.store.of(group.id).values()]  # fmt: skip
        groups.append({"id": group.id, "displayName": group.display_name, "isTeam": group.is_team,
                       "members": list(group.members), "owners": list(group.owners), "threads": threads})  # fmt: skip
    return JSONResponse({"groups": groups, "delivered": list(service.store.delivered)})


@control
async def user_posts(request: Request) -> Response:
    """A member posting: {"from": user id, "text": ..., "thread": id (a reply) or "topic": ... (a new thread)}."""
    sim, group = sim_of(request), _group(request)
    body = await control_body(request)
    author = sim.tenant.users.get(str(body.get("from") or ""))
    if author is None:
        raise GraphError(404, "NotFound", "no such author")
    store = _service(request).store
    if body.get("thread"):
        thread = store.of(group.id).get(str(body["thread"]))
        if thread is None:
            raise GraphError(404, "NotFound", "no such thread")
    else:
        thread = store.new_thread(group.id, str(body.get("topic") or "New topic"))
    post = add_post(Context(sim, author), group, thread, {"body": {"contentType": "html",
                    "content": f"<p>{body.get('text') or ''}</p>"}}, author)  # fmt: skip
    return JSONResponse({"thread": thread.id, "post": post.id}, status_code=201)


@control
async def change_membership(request: Request) -> Response:
    """{"add": [user ids], "remove": [user ids], "owners": false}: an admin's change, as group delta then shows it."""
    group, service = _group(request), _service(request)
    body = await control_body(request)
    owner = bool(body.get("owners"))
    for user_id in body.get("add") or []:
        if user_id not in (group.owners if owner else group.members):
            service.add_member(group, str(user_id), owner)
    for user_id in body.get("remove") or []:
        if user_id in (group.owners if owner else group.members):
            service.remove_member(group, str(user_id), owner)
    return JSONResponse({"members": group.members, "owners": group.owners})


@control
async def delete_thread(request: Request) -> Response:
    """A member deleting a thread (as "Delete conversationThread" does: https://learn.microsoft.com/graph/api/
    conversationthread-delete): it and its posts are gone from the group."""
    group = _group(request)
    if _service(request).store.of(group.id).pop(request.path_params["thread"], None) is None:
        raise GraphError(404, "NotFound", "no such thread")
    return Response(status_code=204)


def group_control_routes() -> list[BaseRoute]:
    return [
        Route("/_sim/groups", groups_state),
        Route("/_sim/groups/{group}/posts", user_posts, methods=["POST"]),
        Route("/_sim/groups/{group}/membership", change_membership, methods=["POST"]),
        Route("/_sim/groups/{group}/threads/{thread}", delete_thread, methods=["DELETE"]),
    ]


def group_routes() -> list[BaseRoute]:
    """Every Graph route of the surface, group delta before the by-id routes it would otherwise match."""
    from graphsim.groups.delta_routes import group_delta_routes
    from graphsim.groups.routes import group_read_routes
    from graphsim.groups.write_routes import group_write_routes

    return [*group_delta_routes(), *group_write_routes(), *group_read_routes(),
            Route("/v1.0/groups/{group}", get_group)]  # fmt: skip
