"""The simulator's chats surface as the Graph docs describe it, read and written through the product's own Graph
client: a user's chats with their members and paging, the list-messages query options exactly as documented
($top ≤ 50, descending $orderby only, $filter only with an $orderby on the same property), and chat migration
refused where the docs say it is not possible."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from core.errors import GraphConflict, GraphError
from core.graph.client import GraphClient
from graphsim.__main__ import parse_args
from graphsim.chats.control_client import ChatsControl
from graphsim.process import _option_args
from graphsim.simulator import Simulator
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    t = open_tenant(tmp_path_factory.mktemp("sim-chats") / "sim", isolated_storage(azurite), users=2, messages=1,
                    contacts=0, events=0, drive_files=1, sites=1, seed=11, chat_users=2)  # fmt: skip
    yield t
    t.close()


@pytest.fixture(scope="module")
def control(tenant: Tenant) -> Iterator[ChatsControl]:
    c = ChatsControl(tenant.sim.base_url, tenant.sim.ca_file)
    yield c
    c.close()


def _status(call) -> int:
    with pytest.raises(GraphError) as raised:
        call()
    return int(raised.value.status or 0)


def _chat(control: ChatsControl, chat_type: str) -> dict:
    return next(c for c in control.state()["chats"] if c["chatType"] == chat_type)


def _all(graph: GraphClient, url: str, params: dict[str, str]) -> list[list[dict]]:
    return list(graph.iter_pages(url, params=params))


def test_a_users_chats_page_with_their_members(tenant: Tenant, control: ChatsControl):
    graph = tenant.services.graph
    user = _chat(control, "meeting")["members"][0]
    pages = _all(graph, f"users/{user}/chats", {"$expand": "members", "$top": "1"})
    chats = [c for p in pages for c in p]
    assert len(pages) == len(chats) >= 3  # one a page, the nextLink keeping $expand
    assert {c["chatType"] for c in chats} == {"oneOnOne", "group", "meeting"}
    assert all(c["members"] and all(m["userId"] for m in c["members"]) for c in chats)
    one = next(c for c in chats if c["chatType"] == "oneOnOne")
    assert one["topic"] is None and next(c for c in chats if c["chatType"] == "meeting")["onlineMeetingInfo"]
    users = graph.get_json("users")["value"]
    outsider = next(u for u in users if u["id"] not in {m["userId"] for m in one["members"]})
    assert _status(lambda: graph.get_json(f"users/{outsider['id']}/chats/{one['id']}")) == 404
    assert _status(lambda: graph.get_json(f"users/{user}/chats", params={"$top": "51"})) == 400


def test_chat_messages_take_the_documented_order_and_filter_only(tenant: Tenant, control: ChatsControl):
    graph = tenant.services.graph
    chat = _chat(control, "oneOnOne")
    url = f"chats/{chat['id']}/messages"
    newest = max(m["lastModifiedDateTime"] for m in chat["messages"])
    every = [m["id"] for p in _all(graph, url, {"$top": "2"}) for m in p]
    assert sorted(every) == sorted(m["id"] for m in chat["messages"])
    since = {"$orderby": "lastModifiedDateTime desc", "$filter": f"lastModifiedDateTime gt {newest}", "$top": "2"}
    assert [m for p in _all(graph, url, since) for m in p] == []
    ignored = {"$filter": f"lastModifiedDateTime gt {newest}"}  # no $orderby on the same property: ignored
    assert len([m for p in _all(graph, url, ignored) for m in p]) == len(every)
    edited = chat["messages"][0]["id"]
    control.edit(chat["id"], edited, "changed")
    changed = [m["id"] for p in _all(graph, url, since) for m in p]
    assert changed == [edited]
    by_created = graph.get_json(url, params={"$orderby": "createdDateTime desc"})["value"]
    assert [m["createdDateTime"] for m in by_created] == sorted(
        (m["createdDateTime"] for m in by_created), reverse=True
    )
    assert _status(lambda: graph.get_json(url, params={"$orderby": "createdDateTime asc"})) == 400
    assert _status(lambda: graph.get_json(url, params={"$orderby": "createdDateTime desc",
                                                       "$filter": f"createdDateTime gt {newest}"})) == 400  # fmt: skip
    assert _status(lambda: graph.get_json(url, params={"$top": "51"})) == 400
    assert all(m["chatId"] == chat["id"] and m["replyToId"] is None for m in by_created)


def _body(user: str, when: str) -> dict:
    return {"createdDateTime": when, "from": {"user": {"id": user, "userIdentityType": "aadUser"}},
            "body": {"contentType": "html", "content": "<p>imported</p>"}}  # fmt: skip


def test_migration_is_refused_for_meeting_chats_and_outside_migration_mode(tenant: Tenant, control: ChatsControl):
    graph = tenant.services.graph
    meeting, group = _chat(control, "meeting"), _chat(control, "group")
    assert _status(lambda: graph.post_json(f"chats/{meeting['id']}/startMigration", {})) == 400
    author = group["members"][0]
    created = dt.datetime.fromisoformat(group["createdDateTime"].replace("Z", "+00:00"))
    early = (created - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    later = (created + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert _status(lambda: graph.post_json(f"chats/{group['id']}/messages", _body(author, later))) == 403
    graph.post_json(f"chats/{group['id']}/startMigration", {"conversationCreationDateTime": early})
    assert _status(lambda: graph.post_json(f"chats/{group['id']}/startMigration", {})) == 400
    made = graph.post_json(f"chats/{group['id']}/messages", _body(author, later))
    assert made["createdDateTime"] == later and made["from"]["user"]["id"] == author
    with pytest.raises(GraphConflict):  # the same createdDateTime in one conversation
        graph.post_json(f"chats/{group['id']}/messages", _body(author, later))
    graph.post_json(f"chats/{group['id']}/completeMigration", {})
    assert _chat(control, "group")["migrationMode"] == "completed"
    assert _status(lambda: graph.post_json(f"chats/{group['id']}/messages", _body(author, later))) == 403


QUIET = {"messages": 0, "contacts": 0, "events": 0, "tasks": 0, "drive_files": 0, "sites": 0, "list_items": 0,
         "teams": 0, "channel_messages": 0, "group_posts": 0}  # fmt: skip


def test_the_chat_messages_option_sizes_every_seeded_chat():
    """`chat_messages` (`--chat-messages`, an option of start_simulator and open_tenant) gives every seeded chat that
    many messages, the first three still with their reaction, mention and edit; left out, the seed's own counts (which
    the tests above and tests/integration/test_chats.py count on). The simulator is built in this process: its state
    is what the chats routes serve."""
    assert parse_args(["--state-dir", "s", "--chat-messages", "60"]).chat_messages == 60
    assert parse_args(["--state-dir", "s"]).chat_messages is None
    assert _option_args({"chat_messages": 60}) == ["--chat-messages", "60"]
    sized = Simulator("https://127.0.0.1:1", seed=11, users=2, chat_users=2, chat_messages=60, **QUIET)
    chats = {c.chat_type: c for c in sized.chats.store.chats.values()}
    assert sorted(chats) == ["group", "meeting", "oneOnOne"] and len(sized.chats.store.chats) == 3
    for chat in chats.values():
        messages = [m.data for m in chat.all_messages()]
        created = [m["createdDateTime"] for m in messages]
        assert len({m["id"] for m in messages}) == len(messages) == 60 and created == sorted(set(created))
        assert messages[0]["reactions"] and messages[1]["mentions"] and messages[2]["lastEditedDateTime"]
        assert not any(m["reactions"] or m["mentions"] or m["lastEditedDateTime"] for m in messages[3:])
    first = chats["group"].all_messages()[0]  # its inline image, as before
    assert first.hosted and "/hostedContents/" in first.data["body"]["content"]
    default = Simulator("https://127.0.0.1:1", seed=11, users=2, chat_users=2, **QUIET)
    counts = {c.chat_type: len(c.messages) for c in default.chats.store.chats.values()}
    assert counts == {"oneOnOne": 3, "group": 2, "meeting": 2}
