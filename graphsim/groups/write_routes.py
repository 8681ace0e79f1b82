"""Graph v1.0 group writes: start a thread, reply to one (what a user sees afterwards: a post with the time of its
creation, delivered to every member who follows the group in their inbox), and add or remove a member or owner.

- Create thread (https://learn.microsoft.com/graph/api/group-post-threads): POST /groups/{id}/threads with a topic
  and one post; 201 with the thread. A post's dates, sender and ids are set by delivery: any given are ignored.
- Reply to thread (https://learn.microsoft.com/graph/api/conversationthread-reply): POST .../threads/{id}/reply
  with {"post": {...}}; 202 with no body. A locked thread refuses (400).
- Add member / owner (https://learn.microsoft.com/graph/api/group-post-members, group-post-owners): POST
  .../members/$ref with an @odata.id naming a directory object; 204; one already there is a 400.
- Remove member / owner (https://learn.microsoft.com/graph/api/group-delete-members, group-delete-owners): DELETE
  .../members/{id}/$ref; 204; one not there is a 404."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.errors import GraphError, json_object
from graphsim.groups.delivery import deliver_copy
from graphsim.groups.routes import group_of, groups_of, thread_of
from graphsim.groups.store import Post, Thread
from graphsim.simulator import Context, graph_route
from graphsim.teams.store import Group
from graphsim.tenant import User


def _author(ctx: Context, group: Group) -> User:
    """The sender of a post an app creates: the docs do not say (neither create takes a `from`); the simulator
    names the group's first owner (a user the tenant has)."""
    for user_id in (*group.owners, *group.members):
        user = ctx.sim.tenant.users.get(user_id)
        if user is not None:
            return user
    raise GraphError(400, "ErrorInvalidRecipients", "The group has no member to send as.")


def _files(post: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    files = []
    for a in post.get("attachments") or []:
        if isinstance(a, dict) and a.get("@odata.type") == "#microsoft.graph.fileAttachment":
            try:
                raw = base64.b64decode(str(a.get("contentBytes") or ""), validate=True)
            except ValueError:
                raise GraphError(400, "ErrorInvalidRequest", "contentBytes is not base64.") from None
            files.append((str(a.get("name") or "attachment"), str(a.get("contentType") or "application/octet-stream"),
                          raw))  # fmt: skip
    return files


def _deliver(ctx: Context, group: Group, thread: Thread, post: Post) -> None:
    service = groups_of(ctx)
    for user_id in service.subscribers(group):
        user = ctx.sim.tenant.users.get(user_id)
        if user is None or user.mailbox is None:
            continue
        message = deliver_copy(ctx.sim, user, group, post, thread.topic)
        service.store.delivered.append({"group": group.id, "post": post.id, "user": user_id, "message": message})


def add_post(ctx: Context, group: Group, thread: Thread, post: dict[str, Any], author: User) -> Post:
    body = post.get("body") if isinstance(post.get("body"), dict) else {}
    last = list(thread.posts)[-1] if thread.posts else ""
    made = groups_of(ctx).store.new_post(thread, author, dt.datetime.now(dt.UTC), body, last, _files(post))
    _deliver(ctx, group, thread, made)
    return made


@graph_route("group_thread_create", mail=False)
async def create_thread(request: Request, ctx: Context) -> Response:
    group = group_of(request, ctx)
    body = await json_object(request, "BadRequest", empty_ok=False)
    posts = body.get("posts")
    if not isinstance(body.get("topic"), str) or not isinstance(posts, list) or len(posts) != 1:
        raise GraphError(400, "ErrorInvalidRequest", "A thread is created with a topic and exactly one post.")
    thread = groups_of(ctx).store.new_thread(group.id, body["topic"])
    add_post(ctx, group, thread, posts[0] if isinstance(posts[0], dict) else {}, _author(ctx, group))
    return JSONResponse(thread.to_json(), status_code=201)


@graph_route("group_thread_reply", mail=False)
async def reply(request: Request, ctx: Context) -> Response:
    group, thread = thread_of(request, ctx)
    body = await json_object(request, "BadRequest", empty_ok=False)
    if not isinstance(body.get("post"), dict):
        raise GraphError(400, "ErrorInvalidRequest", "The request body must carry a post.")
    if thread.locked:
        raise GraphError(400, "ErrorInvalidRequest", "The thread is locked.")
    add_post(ctx, group, thread, body["post"], _author(ctx, group))
    return Response(status_code=202)


def _relation(request: Request) -> bool:
    return "/owners/" in request.url.path


@graph_route("group_member_add", mail=False)
async def add_member(request: Request, ctx: Context) -> Response:
    group = group_of(request, ctx)
    body = await json_object(request, "BadRequest", empty_ok=False)
    ref = str(body.get("@odata.id") or "")
    user_id = ref.rstrip("/").rsplit("/", 1)[-1]
    if not ref or ctx.sim.tenant.users.get(user_id) is None:
        raise GraphError(400, "Request_BadRequest", "Invalid object identifier.")
    owner = _relation(request)
    if user_id in (group.owners if owner else group.members):
        raise GraphError(400, "Request_BadRequest",
                         "One or more added object references already exist for the following modified properties: "
                         f"'{'owners' if owner else 'members'}'.")  # fmt: skip
    groups_of(ctx).add_member(group, user_id, owner)
    return Response(status_code=204)


@graph_route("group_member_remove", mail=False)
async def remove_member(request: Request, ctx: Context) -> Response:
    group = group_of(request, ctx)
    user_id = request.path_params["member"]
    owner = _relation(request)
    if user_id not in (group.owners if owner else group.members):
        raise GraphError(404, "Request_ResourceNotFound", f"Resource '{user_id}' does not exist.")
    groups_of(ctx).remove_member(group, user_id, owner)
    return Response(status_code=204)


def group_write_routes() -> list[BaseRoute]:
    g = "/v1.0/groups/{group}"
    return [
        Route(f"{g}/threads", create_thread, methods=["POST"]),
        Route(f"{g}/threads/{{thread}}/reply", reply, methods=["POST"]),
        Route(f"{g}/members/$ref", add_member, methods=["POST"]),
        Route(f"{g}/owners/$ref", add_member, methods=["POST"]),
        Route(f"{g}/members/{{member}}/$ref", remove_member, methods=["DELETE"]),
        Route(f"{g}/owners/{{member}}/$ref", remove_member, methods=["DELETE"]),
    ]
