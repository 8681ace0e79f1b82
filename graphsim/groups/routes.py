"""Graph v1.0 group read routes: a group, its owners and members, its threads and their posts (paged, read by id),
a post's attachments, the group's site, and the group calendar's refusal of application callers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.errors import GraphError
from graphsim.groups.service import GroupsService
from graphsim.groups.store import Post, Thread
from graphsim.odata import pick, select_of
from graphsim.simulator import Context, graph_route
from graphsim.teams.routes import paged
from graphsim.teams.store import Group


def groups_of(ctx: Context) -> GroupsService:
    return ctx.sim.groups  # type: ignore[attr-defined,no-any-return]


def group_of(request: Request, ctx: Context) -> Group:
    group = groups_of(ctx).group(request.path_params["group"])
    if group is None:  # https://learn.microsoft.com/graph/api/group-get: an unknown id is a 404
        name = request.path_params["group"]
        raise GraphError(404, "Request_ResourceNotFound", f"Resource '{name}' does not exist or one of its queried "
                         "reference-property objects are not present.")  # fmt: skip
    return group


def thread_of(request: Request, ctx: Context) -> tuple[Group, Thread]:
    group = group_of(request, ctx)
    thread = groups_of(ctx).thread(group.id, request.path_params["thread"])
    if thread is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return group, thread


def post_of(request: Request, ctx: Context) -> tuple[Group, Thread, Post]:
    group, thread = thread_of(request, ctx)
    post = thread.posts.get(request.path_params["post"])
    if post is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return group, thread, post


def directory_user(ctx: Context, user_id: str) -> dict[str, Any]:
    user = ctx.sim.tenant.users.get(user_id)
    name = user.display_name if user else user_id
    return {"@odata.type": "#microsoft.graph.user", "id": user_id, "displayName": name,
            "userPrincipalName": user.user_principal_name if user else None}  # fmt: skip


def post_json(post: Post, expand: str | None) -> dict[str, Any]:
    """A post as "Get post" returns it; inReplyTo only when expanded (https://learn.microsoft.com/graph/api/
    post-get: `$expand=inReplyTo`; attachments through their own listing, or `$expand=attachments`)."""
    data = dict(post.data)
    wanted = {e.strip() for e in (expand or "").split(",") if e.strip()}
    if "inReplyTo" in wanted:
        data["inReplyTo"] = {"id": post.in_reply_to} if post.in_reply_to else None
    if "attachments" in wanted:
        data["attachments"] = [a.to_json() for a in post.attachments]
    return data


@graph_route("group", mail=False)
async def get_group(request: Request, ctx: Context) -> Response:
    return JSONResponse(pick(group_of(request, ctx).to_json(ctx.sim.tenant.domain), select_of(request)))


@graph_route("group_members", mail=False)
async def list_members(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/group-list-members and group-list-owners: directory objects, paged."""
    group = group_of(request, ctx)
    ids = group.owners if request.url.path.rstrip("/").endswith("/owners") else group.members
    return paged(request, ctx, [directory_user(ctx, i) for i in ids], "directoryObjects", 999)


@graph_route("group_threads", mail=False)
async def list_threads(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/group-list-threads: every thread of the group, newest delivery first."""
    group = group_of(request, ctx)
    threads = sorted(groups_of(ctx).store.of(group.id).values(),
                     key=lambda t: str(t.to_json()["lastDeliveredDateTime"] or ""), reverse=True)  # fmt: skip
    return paged(request, ctx, [pick(t.to_json(), select_of(request)) for t in threads], "threads", 999)


@graph_route("group_thread", mail=False)
async def get_thread(request: Request, ctx: Context) -> Response:
    return JSONResponse(pick(thread_of(request, ctx)[1].to_json(), select_of(request)))


@graph_route("group_posts", mail=False)
async def list_posts(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/conversationthread-list-posts: the thread's posts, paged."""
    _group, thread = thread_of(request, ctx)
    expand = request.query_params.get("$expand")
    return paged(request, ctx, [post_json(p, expand) for p in thread.posts.values()], "posts", 999)


@graph_route("group_post", mail=False)
async def get_post(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/post-get."""
    return JSONResponse(post_json(post_of(request, ctx)[2], request.query_params.get("$expand")))


@graph_route("group_post_attachments", mail=False)
async def list_attachments(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/post-list-attachments: fileAttachments with their contentBytes."""
    post = post_of(request, ctx)[2]
    return paged(request, ctx, [a.to_json() for a in post.attachments], "attachments", 999)


@graph_route("group_site", mail=False)
async def group_site(request: Request, ctx: Context) -> Response:
    """The group's team site (https://learn.microsoft.com/graph/api/site-get, "Access the team site for a group":
    GET /groups/{id}/sites/root); the sharepoint workload backs its content up."""
    group = group_of(request, ctx)
    host = "contoso.sharepoint.com"
    return JSONResponse({"id": f"{host},{group.id},{group.id}", "name": group.mail_nickname,
                         "displayName": group.display_name,
                         "webUrl": f"https://{host}/sites/{group.mail_nickname}"})  # fmt: skip


@graph_route("group_events", mail=False)
async def group_events(request: Request, ctx: Context) -> Response:
    """Group calendar events: "List events" (https://learn.microsoft.com/graph/api/group-list-events) lists
    Application as "Not supported"; an app-only token (every token this simulator's app gets) is refused."""
    group_of(request, ctx)
    raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def group_read_routes() -> list[BaseRoute]:
    g = "/v1.0/groups/{group}"
    t = f"{g}/threads/{{thread}}"
    return [
        Route(f"{g}/members", list_members),
        Route(f"{g}/owners", list_members),
        Route(f"{g}/threads", list_threads),
        Route(t, get_thread),
        Route(f"{t}/posts", list_posts),
        Route(f"{t}/posts/{{post}}", get_post),
        Route(f"{t}/posts/{{post}}/attachments", list_attachments),
        Route(f"{g}/sites/root", group_site),
        Route(f"{g}/events", group_events),
        Route(f"{g}/calendar/events", group_events),
        Route(f"{g}/calendar", group_events),
        Route(f"{g}/calendarView", group_events),
    ]
