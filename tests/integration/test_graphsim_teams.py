"""The simulator's Teams surface as the Graph docs describe it, read and written through the product's own Graph
client: the team filter of groups, channel message delta (roots only, paged, a deletion as deletedDateTime),
hosted contents, and migration mode with every refusal the import docs list."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator

import pytest

from core.errors import GraphConflict, GraphError
from core.graph.client import GraphClient
from graphsim.teams.control_client import TeamsControl
from tests.integration.tenant import Tenant, surface_tenant_fixture

tenant = surface_tenant_fixture("sim-teams", users=2, seed=5, channel_messages=5)


@pytest.fixture(scope="module")
def control(tenant: Tenant) -> Iterator[TeamsControl]:
    with TeamsControl(tenant.sim.base_url, tenant.sim.ca_file) as c:
        yield c


def _team(control: TeamsControl) -> dict:
    return next(g for g in control.state()["groups"] if g["resourceProvisioningOptions"] == ["Team"])


def _general(control: TeamsControl) -> dict:
    return next(c for c in _team(control)["channels"] if c["displayName"] == "General")


def _status(call) -> int:
    with pytest.raises(GraphError) as raised:
        call()
    return int(raised.value.status or 0)


def _round(graph: GraphClient, url: str, params: dict | None = None) -> tuple[list[list[dict]], str]:
    pages, page = [], graph.get_json(url, params=params)
    while True:
        pages.append(page["value"])
        if "@odata.deltaLink" in page:
            return pages, page["@odata.deltaLink"]
        page = graph.get_json(page["@odata.nextLink"])


def test_groups_answer_the_documented_team_filter(tenant: Tenant):
    graph = tenant.services.graph
    every = graph.get_json("groups")["value"]
    teams = graph.get_json("groups", params={"$filter": "resourceProvisioningOptions/Any(x:x eq 'Team')"})["value"]
    assert len(every) == 2 and [g["resourceProvisioningOptions"] for g in teams] == [["Team"]]
    plain = next(g for g in every if not g["resourceProvisioningOptions"])
    assert _status(lambda: graph.get_json(f"teams/{plain['id']}")) == 404  # a group without a team
    assert _status(lambda: graph.get_json("groups", params={"$filter": "displayName eq 'x'"})) == 400
    team = graph.get_json(f"teams/{teams[0]['id']}")
    assert team["memberSettings"]["allowCreatePrivateChannels"] is True and "funSettings" in team
    kinds = {c["displayName"]: c["membershipType"] for c in graph.get_json(f"teams/{team['id']}/channels")["value"]}
    assert kinds == {"General": "standard", "Design": "private"}


def test_channel_message_delta_lists_roots_only_in_pages_and_shows_deletions_as_deleted_date(
    tenant: Tenant, control: TeamsControl
):
    graph, team, general = tenant.services.graph, _team(control), _general(control)
    url = f"teams/{team['id']}/channels/{general['id']}/messages/delta"
    pages, link = _round(graph, url, {"$top": "2"})
    assert len(pages) == 3 and [len(p) for p in pages] == [2, 2, 1]
    listed = [m for p in pages for m in p]
    assert {m["id"] for m in listed} == {m["id"] for m in general["messages"]}
    assert all(m["replyToId"] is None for m in listed), "delta lists root messages without their replies"
    assert _status(lambda: graph.get_json(url, params={"$top": "51"})) == 400
    users = [u["id"] for u in tenant.mailboxes()]
    root = general["messages"][0]["id"]
    control.post(team["id"], general["id"], users[0], "a reply", reply_to=root)
    pages, link = _round(graph, link)
    assert pages == [[]], "a new reply does not bring its root back in delta (the docs promise nothing of it)"
    control.delete(team["id"], general["id"], root)
    pages, link = _round(graph, link)
    (entry,) = pages[0]
    assert entry["id"] == root and entry["deletedDateTime"] and "@removed" not in entry
    replies = graph.get_json(f"teams/{team['id']}/channels/{general['id']}/messages/{root}/replies")["value"]
    assert [r["body"]["content"] for r in replies][-1] == "<p>a reply</p>"
    assert _status(lambda: graph.get_json(url, params={"$deltatoken": "garbled.token"})) == 410


def test_hosted_contents_are_listed_without_bytes_and_read_from_their_value(tenant: Tenant, control: TeamsControl):
    graph, team, general = tenant.services.graph, _team(control), _general(control)
    root, reply = next((m, r) for m in general["messages"] for r in m["replies"] if r["hosted"])
    with_image = reply
    base = f"teams/{team['id']}/channels/{general['id']}/messages/{root['id']}/replies/{reply['id']}/hostedContents"
    (listed,) = graph.get_json(base)["value"]
    assert listed["contentBytes"] is None and listed["contentType"] is None
    data = graph.request("GET", f"{base}/{listed['id']}/$value").content
    assert data == base64.b64decode(with_image["hosted"][listed["id"]]) and data.startswith(b"\x89PNG")


def test_listing_channel_messages_expands_their_replies_and_refuses_other_expansions(
    tenant: Tenant, control: TeamsControl
):
    graph, team, general = tenant.services.graph, _team(control), _general(control)
    url = f"teams/{team['id']}/channels/{general['id']}/messages"
    listed = [m for page in graph.iter_pages(url, params={"$top": "2", "$expand": "replies"}) for m in page]
    assert sorted(m["id"] for m in listed) == sorted(m["id"] for m in general["messages"])
    for root in listed:  # each root with the same replies "list replies" gives, none of them a root
        alone = graph.get_json(f"{url}/{root['id']}/replies")["value"]
        assert [r["id"] for r in root["replies"]] == [r["id"] for r in alone]
        assert "replies@odata.nextLink" not in root  # under 1,000 replies
    assert all("replies" not in m for m in graph.get_json(url)["value"])  # not expanded unless asked
    assert _status(lambda: graph.get_json(url, params={"$expand": "hostedContents"})) == 400


def _body(user: str, when: str, text: str = "imported") -> dict:
    return {
        "createdDateTime": when,
        "from": {"user": {"id": user, "userIdentityType": "aadUser"}},
        "body": {"contentType": "html", "content": f"<p>{text}</p>"},
    }


def _ms(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def test_migration_mode_imports_with_original_authors_and_times_and_refuses_what_the_docs_refuse(
    tenant: Tenant, control: TeamsControl
):
    graph, team = tenant.services.graph, _team(control)
    user = tenant.mailboxes()[1]["id"]
    channels = f"teams/{team['id']}/channels"
    general = _general(control)
    outside = f"{channels}/{general['id']}/messages"
    assert _status(lambda: graph.post_json(outside, _body(user, "2026-01-01T10:00:00.000Z"))) == 403
    created = graph.post_json(
        channels,
        {
            "displayName": "Imported",
            "membershipType": "standard",
            "@microsoft.graph.channelCreationMode": "migration",
            "createdDateTime": "2025-06-01T00:00:00.000Z",
        },
    )
    assert created["migrationMode"] == "inProgress"
    with pytest.raises(GraphConflict):
        graph.post_json(channels, {"displayName": "Imported"})
    path = f"{channels}/{created['id']}"
    start = lambda when: graph.post_json(f"{path}/startMigration", {"conversationCreationDateTime": when})  # noqa: E731
    assert _status(lambda: start("2025-01-01T00:00:00.000Z")) == 400  # already migrating
    future = _ms(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert _status(lambda: graph.post_json(f"{path}/messages", _body(user, future))) == 400
    assert _status(lambda: graph.post_json(f"{path}/messages", _body(user, "2025-05-01T00:00:00.000Z"))) == 400
    assert _status(lambda: graph.post_json(f"{path}/messages", _body("nobody", "2025-07-01T00:00:00.000Z"))) == 400
    image = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    body = _body(user, "2025-07-01T08:30:00.250Z", 'see <img src="../hostedContents/1/$value">')
    body["hostedContents"] = [{"@microsoft.graph.temporaryId": "1", "contentBytes": image, "contentType": "image/png"}]
    root = graph.post_json(f"{path}/messages", body)
    assert root["createdDateTime"] == "2025-07-01T08:30:00.250Z" and root["from"]["user"]["id"] == user
    assert "../hostedContents" not in root["body"]["content"] and "/hostedContents/" in root["body"]["content"]
    with pytest.raises(GraphConflict):  # unique to the millisecond in the conversation
        graph.post_json(f"{path}/messages", _body(user, "2025-07-01T08:30:00.250Z"))
    replies = f"{path}/messages/{root['id']}/replies"
    assert _status(lambda: graph.post_json(replies, _body(user, "2025-07-01T08:00:00.000Z"))) == 400
    reply = graph.post_json(replies, _body(user, "2025-07-01T09:00:00.000Z", "a reply"))
    assert reply["replyToId"] == root["id"]
    graph.post_json(f"{path}/completeMigration", {})
    assert _status(lambda: graph.post_json(f"{path}/completeMigration", {})) == 400
    assert _status(lambda: graph.post_json(f"{path}/messages", _body(user, "2025-07-02T00:00:00.000Z"))) == 403
    seen = graph.get_json(f"{path}/messages/{root['id']}")
    assert seen["createdDateTime"] == root["createdDateTime"] and seen["from"]["user"]["id"] == user
    hosted = graph.get_json(f"{path}/messages/{root['id']}/hostedContents")["value"]
    assert graph.request("GET", f"{path}/messages/{root['id']}/hostedContents/{hosted[0]['id']}/$value").content == (
        base64.b64decode(image)
    )
    assert graph.get_json(path)["migrationMode"] == "completed"
    assert _status(lambda: start("2026-12-31T00:00:00.000Z")) == 400  # not older than the channel's creation
    start("2025-05-01T00:00:00.000Z")  # an existing channel enters migration mode again (204)
    graph.post_json(f"{path}/messages", _body(user, "2025-05-02T00:00:00.000Z", "older than the first import"))
    graph.post_json(f"{path}/completeMigration", {})


def test_channel_message_delta_links_in_the_function_shape_are_followed_as_given(tenant: Tenant, control: TeamsControl):
    graph, team, general = tenant.services.graph, _team(control), _general(control)
    tenant.sim.control.configure(link_style="function")
    try:
        pages, link = _round(graph, f"teams/{team['id']}/channels/{general['id']}/messages/delta", {"$top": "3"})
    finally:
        tenant.sim.control.configure(link_style="query")
    assert link.endswith("')") and "(token='" in link and sum(len(p) for p in pages) == len(general["messages"])
    assert _round(graph, link)[0] == [[]]
