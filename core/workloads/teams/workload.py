"""The Teams workload: one resource per team ('teams:<group id>'), holding its channel messages (and the team's
settings, members, tabs and channels beside them). Not self-service (a team has no single owner who signs in) and
not on by default: its read APIs are protected and need Microsoft's approval first (README, Permissions)."""

from __future__ import annotations

from core.workloads.base import Workload
from core.workloads.teams.channel_messages import CHANNEL_MESSAGE_CATEGORY
from core.workloads.teams.team_backup import TeamsHandler
from core.workloads.teams.throttling import channel_messages_of

TEAMS = Workload(
    name=TeamsHandler.name,
    handler=TeamsHandler(),
    categories=(CHANNEL_MESSAGE_CATEGORY,),
    owner_path="teams/{}",
    owner_noun="team",
    target_path="teams/{}",
    target_noun="team",
    self_service=False,
    default_on=False,
    throttle_scope=channel_messages_of,
)
