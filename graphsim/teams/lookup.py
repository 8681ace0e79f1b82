"""How a Teams route finds what its path names (team, channel, message or reply), answering 404 as Graph does."""

from __future__ import annotations

from starlette.requests import Request

from graphsim.errors import GraphError
from graphsim.simulator import Context
from graphsim.teams.service import TeamsService
from graphsim.teams.store import Channel, Group, Message

NOT_FOUND = "No team found with Group Id {}"


def teams_of(ctx: Context) -> TeamsService:
    return ctx.sim.teams  # type: ignore[attr-defined,no-any-return]


def team_of(request: Request, ctx: Context) -> Group:
    team = teams_of(ctx).team(request.path_params["team"])
    if team is None:  # https://learn.microsoft.com/graph/api/team-get: 404 for a group without a team
        raise GraphError(404, "NotFound", NOT_FOUND.format(request.path_params["team"]))
    return team


def channel_of(request: Request, ctx: Context) -> Channel:
    team = team_of(request, ctx)
    channel = team.channels.get(request.path_params["channel"])
    if channel is None:
        raise GraphError(404, "NotFound", "Channel not found.")
    return channel


def message_of(request: Request, ctx: Context) -> tuple[Channel, Message, Message | None]:
    """(channel, message, root) of a /messages/{message}[/replies/{reply}] path."""
    channel = channel_of(request, ctx)
    root = channel.messages.get(request.path_params["message"])
    if root is None:
        raise GraphError(404, "NotFound", "Message not found.")
    reply_id = request.path_params.get("reply")
    if reply_id is None:
        return channel, root, None
    reply = root.replies.get(reply_id)
    if reply is None:
        raise GraphError(404, "NotFound", "Message not found.")
    return channel, reply, root
