"""The chats workload's discovery and backup: one resource per user ('chats:<user id>'), whose containers are the
chats the user is a member of (https://learn.microsoft.com/graph/api/chat-list: GET /users/{id}/chats with
$expand=members, $top at most 50, paged by its next links).

A chat's version (catalog category 'chat') keeps its chatType (oneOnOne, group, meeting), topic, createdDateTime,
webUrl, onlineMeetingInfo and members in its `extra` (https://learn.microsoft.com/graph/api/resources/chat); its
messages go through the one delta engine (core.delta.lifecycle.run_category) with the chat adapter below.

Graph has no delta for chat messages, so a chat's round is the documented listing
(https://learn.microsoft.com/graph/api/chat-list-messages) read from a watermark the engine keeps as the chat's
"delta link" ('watermark:<time>'): `$orderby=lastModifiedDateTime desc` with `$filter=lastModifiedDateTime gt T`
(the page says the filter applies only with an $orderby on the same property), T the newest lastModifiedDateTime
the last round saw (or the time it started, for an empty chat) less ten minutes of overlap. lastModifiedDateTime
moves on a new message, an edit, a soft delete and a reaction (chatMessage resource), so each lands in the next
round as a changed item; a message listed again unchanged costs no fetch (same change key).
What it can miss: a change stamped more than ten minutes before Graph makes it visible (the overlap's bound), and a
message removed outright (a retention policy's purge: it never shows as modified). A full round (no filter) every
seven days, and whenever the watermark is missing or unreadable, lists the whole chat: it catches both, and what it
does not list is read by id and ended only on a 404. A chat shared by several users is backed up under each of
them; its message JSON and images are content-addressed, so their bytes are stored once."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.lifecycle import Resource, RoundDone, run_category
from core.storage.delta_state import DeltaState
from core.storage.directory import DirectoryEntry
from core.workloads.chats.chat_messages import CHAT_MESSAGE_KIND, messages_path
from core.workloads.container_delta import RoundOutcome, apply_page, settlement
from core.workloads.discovered import user_entries
from core.workloads.folder_paths import join_path
from core.workloads.kind_job import kind_job
from core.workloads.teams.messages_backup import PAGE
from core.workloads.teams.migration import stamp, when
from core.workloads.teams.team_backup import ChannelKind

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient
    from core.models import BackupReport

WATERMARK = "watermark:"
OVERLAP = dt.timedelta(minutes=10)
FULL_EVERY = dt.timedelta(days=7)
CHAT_FIELDS = ("chatType", "topic", "createdDateTime", "webUrl", "onlineMeetingInfo", "members")
MEMBER_FIELDS = ("userId", "displayName", "email", "roles")


def list_chats(graph: GraphClient, user: str) -> list[dict]:
    """The user's chats, each with its members reduced to who they are."""
    params = {"$expand": "members", "$top": "50"}
    chats = []
    for page in graph.iter_pages(f"users/{quote(user, safe='')}/chats", params=params):
        for chat in page:
            if isinstance(chat, dict) and isinstance(chat.get("id"), str) and chat["id"]:
                members = [m for m in chat.get("members") or [] if isinstance(m, dict)]
                chat["members"] = [{k: m.get(k) for k in MEMBER_FIELDS} for m in members]
                chats.append(chat)
    return chats


def chat_name(chat: dict, user: str) -> str:
    """A chat's topic; else who else is in it ('Chat with Adele Vance')."""
    if chat.get("topic"):
        return str(chat["topic"])
    others = [str(m.get("displayName") or m.get("userId")) for m in chat["members"] if m.get("userId") != user]
    if not others:
        return f"Chat {chat['id'][:24]}"
    prefix = "Chat with" if chat.get("chatType") == "oneOnOne" else "Group chat with"
    return f"{prefix} {', '.join(sorted(others))}"[:200]


def as_containers(chats: list[dict], user: str) -> list[Container]:
    """One container per chat, named uniquely among the user's chats (oldest first keeps the plain name)."""
    taken: dict[str, int] = {}
    containers = []
    for chat in sorted(chats, key=lambda c: (str(c.get("createdDateTime") or ""), c["id"])):
        name = chat_name(chat, user)
        taken[name] = taken.get(name, 0) + 1
        if taken[name] > 1:
            name = f"{name} ({taken[name]})"
        containers.append(Container(chat["id"], name, "", join_path([name])))
    return containers


def _mark(state: DeltaState | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(watermark, time of the last full round) a saved state holds; (None, None) when it holds none usable."""
    if state is None or not state.delta_link.startswith(WATERMARK):
        return None, None
    try:
        query = json.loads(state.query) if state.query else {}
        return when(state.delta_link[len(WATERMARK) :]), when(query["full"])
    except (ValueError, KeyError, TypeError):
        return None, None


class ChatKind(ChannelKind):
    """The channel adapter with chats as containers, whose round is the watermark listing described above."""

    fields = CHAT_FIELDS

    def run_round(self, container: Container, state: DeltaState | None) -> RoundDone:
        job = self.job
        started = dt.datetime.now(dt.UTC)
        mark, last_full = _mark(state)
        full = mark is None or last_full is None or started - last_full >= FULL_EVERY
        if state is not None and full:
            job.report.note(f"{container.path}: full listing (weekly, or no usable watermark)")
        params = dict(PAGE)
        if not full and mark is not None:
            params["$orderby"] = "lastModifiedDateTime desc"
            params["$filter"] = f"lastModifiedDateTime gt {stamp(mark - OVERLAP)}"
        outcome = RoundOutcome("", set(), 0)
        newest = mark
        for page in job.graph.iter_pages(messages_path(job.user, container), params=params):
            for message in page:
                try:
                    modified = when(str(message["lastModifiedDateTime"]))
                except (KeyError, TypeError, ValueError):
                    continue
                newest = modified if newest is None else max(newest, modified)
            apply_page(job, container, page, outcome)
        link = WATERMARK + stamp(newest or started)
        query = json.dumps({"full": stamp(started if full else last_full or started)})
        keep = f"{container.path}: {outcome.failed} messages without an id; watermark kept" if outcome.failed else ""
        return RoundDone(link, full, outcome.seen, set(job.tried), settlement(job, container.id, outcome), query, keep)


class ChatsHandler:
    name = "chats"

    def discover(self, services: Services) -> list[str]:
        """Every selected user (one who has no chats is backed up as empty)."""
        return [e.owner for e in self.discover_named(services) if e.included]

    def discover_named(self, services: Services) -> list[DirectoryEntry]:
        return user_entries(services, self.name)

    def backup(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        resource = f"{self.name}:{owner}"
        chats = list_chats(services.graph, owner)
        kind = CHAT_MESSAGE_KIND
        with ThreadPoolExecutor(services.settings.item_concurrency, thread_name_prefix="chat-item") as pool:
            job = kind_job(services, resource, owner, run_id, report, kind, pool)
            folders = services.catalog.open_index(resource, kind.folder_category)
            adapter = ChatKind(job, folders, {c["id"]: c for c in chats})
            where = Resource(resource, run_id, report, services.delta_state, services.quarantine)
            run_category(where, adapter, as_containers(chats, owner))
