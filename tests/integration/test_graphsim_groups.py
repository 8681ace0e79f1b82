"""The simulator's groups surface as the Graph docs describe it, read and written through the product's own Graph
client: the Unified filter, group delta (one group's members over several pages, `@removed` for a removed member,
links opaque), threads and posts paged, a post's attachments, create thread / reply (the post stamped with the time
of its creation and delivered to each follower's mailbox), add/remove member refusals, and group calendar events
refused to an application."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from core.errors import GraphError, GraphNotFound
from graphsim.groups.control_client import GroupsControl
from tests.integration.tenant import Tenant, surface_tenant_fixture

tenant = surface_tenant_fixture("sim-groups", users=3, seed=9, channel_messages=1, group_posts=4)


@pytest.fixture(scope="module")
def control(tenant: Tenant) -> Iterator[GroupsControl]:
    with GroupsControl(tenant.sim.base_url, tenant.sim.ca_file) as c:
        yield c


def _plain(control: GroupsControl) -> dict:
    return next(g for g in control.state()["groups"] if not g["isTeam"])


def _round(tenant: Tenant, first: str, params: dict | None) -> tuple[list[dict], str]:
    pages, url = [], first
    while True:
        page = tenant.services.graph.get_json(url, params=params)
        params = None
        pages.append(page["value"])
        if "@odata.deltaLink" in page:
            return [e for p in pages for e in p], page["@odata.deltaLink"]
        url = page["@odata.nextLink"]


def test_group_delta_splits_members_over_pages_and_marks_removals(tenant: Tenant, control: GroupsControl):
    group = _plain(control)
    entries, link = _round(tenant, "groups/delta", {"$filter": f"id eq '{group['id']}'", "$select": "members"})
    assert {e["id"] for e in entries} == {group["id"]} and len(entries) == 2  # 3 members, 2 a page
    assert sorted(m["id"] for e in entries for m in e["members@delta"]) == sorted(group["members"])
    control.membership(group["id"], remove=[group["members"][0]])
    changed, _next = _round(tenant, link, None)
    assert changed == [{"id": group["id"], "displayName": group["displayName"],
                        "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": group["members"][0],
                                           "@removed": {"reason": "deleted"}}]}]  # fmt: skip
    control.membership(group["id"], add=[group["members"][0]])
    with pytest.raises(GraphError) as refused:
        tenant.services.graph.get_json(link.replace("deltatoken=", "deltatoken=x"))
    assert refused.value.status == 400


def test_unified_filter_threads_posts_and_attachments(tenant: Tenant, control: GroupsControl):
    graph = tenant.services.graph
    listed = [g for page in graph.iter_pages("groups", params={"$filter": "groupTypes/any(c:c eq 'Unified')"})
              for g in page]  # fmt: skip
    assert len(listed) == 2 and all(g["groupTypes"] == ["Unified"] for g in listed)
    group = _plain(control)
    threads = [t for page in graph.iter_pages(f"groups/{group['id']}/threads", params={"$top": "1"}) for t in page]
    assert len(threads) == 2 and threads[0]["lastDeliveredDateTime"] >= threads[1]["lastDeliveredDateTime"]
    plan = next(t for t in group["threads"] if len(t["posts"]) == 4)
    posts = [p for page in graph.iter_pages(f"groups/{group['id']}/threads/{plan['id']}/posts",
                                            params={"$top": "3"}) for p in page]  # fmt: skip
    assert [p["id"] for p in posts] == [p["id"] for p in plan["posts"]]
    one = graph.get_json(f"groups/{group['id']}/threads/{plan['id']}/posts/{posts[1]['id']}",
                         params={"$expand": "inReplyTo"})  # fmt: skip
    assert one["inReplyTo"] == {"id": posts[0]["id"]}
    files = graph.get_json(f"groups/{group['id']}/threads/{plan['id']}/posts/{posts[0]['id']}/attachments")["value"]
    assert [f["name"] for f in files] == ["plan-9.txt"] and files[0]["contentBytes"]
    with pytest.raises(GraphNotFound):
        graph.get_json(f"groups/{group['id']}/threads/nope/posts")


def test_a_reply_is_stamped_now_and_delivered_to_every_follower(tenant: Tenant, control: GroupsControl):
    graph, group = tenant.services.graph, _plain(control)
    thread = group["threads"][0]
    before = len(control.state()["delivered"])
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    graph.post_json(f"groups/{group['id']}/threads/{thread['id']}/reply",
                    {"post": {"body": {"contentType": "html", "content": "<p>hi</p>"},
                              "receivedDateTime": "2001-01-01T00:00:00Z"}})  # fmt: skip
    made = graph.post_json(f"groups/{group['id']}/threads", {"topic": "Fresh", "posts": [{"body": {"content": "x"}}]})
    assert made["topic"] == "Fresh"
    state = control.state()
    post = next(t for t in _plain(control)["threads"] if t["id"] == thread["id"])["posts"][-1]
    assert dt.datetime.fromisoformat(post["receivedDateTime"].replace("Z", "+00:00")) >= start  # not the one given
    delivered = state["delivered"][before:]
    assert len(delivered) == 2 * len(group["members"])
    for copy in delivered[: len(group["members"])]:
        assert copy["message"] in {m["id"] for m in tenant.sim.control.list_messages(copy["user"])}


def test_membership_writes_refuse_what_is_already_so_and_events_refuse_an_application(
    tenant: Tenant, control: GroupsControl
):
    graph, group = tenant.services.graph, _plain(control)
    member = group["members"][0]
    with pytest.raises(GraphError) as twice:
        graph.post_json(f"groups/{group['id']}/members/$ref",
                        {"@odata.id": f"{graph.url('directoryObjects')}/{member}"})  # fmt: skip
    assert twice.value.status == 400
    with pytest.raises(GraphNotFound):
        graph.request("DELETE", f"groups/{group['id']}/owners/not-an-owner/$ref")
    for path in ("events", "calendar/events"):
        with pytest.raises(GraphError) as denied:
            graph.get_json(f"groups/{group['id']}/{path}")
        assert denied.value.status == 403
