"""The simulator's in-place archive as "Use Mail APIs with Exchange archive mailboxes" and "Handle archive mailbox
redirects" describe it, read through raw HTTP (to see the 308s) and the product's own Graph client (which follows
them): settings/exchange with and without an archive, the archive's folders, message delta paged to a deltaLink
with `@removed`, an expanded folder's 308 to the auxiliary archive, the v1.0 API not reaching an archive, well-known
names and message creates refused."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from core.errors import GraphError, GraphNotFound
from graphsim.archive.control_client import ArchiveControl
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, surface_tenant


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    state_dir = tmp_path_factory.mktemp("sim-archive") / "sim"
    with surface_tenant(state_dir, isolated_storage(azurite), users=2, seed=13, archive_messages=5) as t:
        yield t


@pytest.fixture(scope="module")
def control(tenant: Tenant) -> Iterator[ArchiveControl]:
    with ArchiveControl(tenant.sim.base_url, tenant.sim.ca_file) as c:
        yield c


@pytest.fixture(scope="module")
def raw(tenant: Tenant) -> Iterator[httpx.Client]:
    """Plain HTTPS with the app's token, redirects not followed: what Graph answers, as it answers it."""
    token = tenant.services.graph._tokens.token()
    context = ssl.create_default_context(cafile=str(tenant.sim.ca_file))
    with httpx.Client(verify=context, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _beta(tenant: Tenant, path: str) -> str:
    return f"{tenant.services.graph.endpoint}/beta/{path}"


def _mbx(archive_id: str) -> str:
    return quote(archive_id, safe="")


def test_settings_exchange_names_the_archive_only_when_there_is_one(tenant: Tenant, control: ArchiveControl):
    graph = tenant.services.graph
    user = tenant.user(0)["id"]
    settings = graph.get_json(_beta(tenant, f"users/{user}/settings/exchange"))
    assert settings["primaryMailboxId"].startswith("MBX:") and settings["primaryMailboxId"].endswith(
        f"@{tenant.sim.tenant_id}"
    )
    assert settings["inPlaceArchiveMailboxId"] == control.state(user)["archive_id"]
    assert settings["inPlaceArchiveMailboxId"] != settings["primaryMailboxId"]
    no_mailbox = next(u for u in tenant.sim.control.state()["users"] if not u.get("mail"))
    with pytest.raises(GraphNotFound) as missing:
        graph.get_json(_beta(tenant, f"users/{no_mailbox['id']}/settings/exchange"))
    assert missing.value.code == "MailboxNotEnabledForRESTAPI"


def test_the_archive_tree_lists_by_id_and_refuses_well_known_names(tenant: Tenant, control: ArchiveControl):
    graph = tenant.services.graph
    state = control.state(tenant.user(0)["id"])
    mbx = _mbx(state["archive_id"])
    top = graph.get_json(_beta(tenant, f"users/{mbx}/mailFolders"), params={"includeHiddenFolders": "true"})
    assert [f["displayName"] for f in top["value"]] == ["Archive 2023"]
    child = graph.get_json(_beta(tenant, f"users/{mbx}/mailFolders/{top['value'][0]['id']}/childFolders"))
    assert [f["displayName"] for f in child["value"]] == ["Projects"]
    for name in ("inbox", "msgfolderroot", "archive"):
        with pytest.raises(GraphError) as refused:
            graph.get_json(_beta(tenant, f"users/{mbx}/mailFolders/{name}"))
        assert refused.value.status == 400 and refused.value.code == "ErrorInvalidRequest"


def test_the_v1_api_does_not_reach_an_archive(tenant: Tenant, control: ArchiveControl):
    mbx = _mbx(control.state(tenant.user(0)["id"])["archive_id"])
    with pytest.raises(GraphNotFound):
        tenant.services.graph.get_json(f"users/{mbx}/mailFolders")


def test_message_creates_into_an_archive_are_refused(tenant: Tenant, control: ArchiveControl):
    state = control.state(tenant.user(0)["id"])
    mbx, folder = _mbx(state["archive_id"]), state["folders"][0]["id"]
    for url in (f"users/{mbx}/mailFolders/{quote(folder, safe='')}/messages", f"users/{mbx}/messages"):
        with pytest.raises(GraphError) as refused:
            tenant.services.graph.post_json(_beta(tenant, url), {"subject": "x"})
        assert refused.value.status == 400
    assert len(control.state(tenant.user(0)["id"])["messages"]) == 5


def test_an_expanded_folder_redirects_to_the_auxiliary_archive(tenant: Tenant, control: ArchiveControl, raw):
    state = control.state(tenant.user(0)["id"])
    projects = next(f for f in state["folders"] if f["expanded"])
    assert projects["path"] == "/Archive 2023/Projects" and state["auxiliary_id"]
    url = _beta(tenant, f"users/{_mbx(state['archive_id'])}/mailFolders/{quote(projects['id'], safe='')}/messages")
    answer = raw.get(url, params={"$select": "id,subject"})
    assert answer.status_code == 308
    location = answer.headers["Location"]
    assert state["auxiliary_id"] in location and projects["id"] in location and "%24select=id" in location
    followed = raw.get(location)
    held = {m["id"] for m in state["messages"] if m["folder_path"] == "/Archive 2023/Projects"}
    assert followed.status_code == 200 and {m["id"] for m in followed.json()["value"]} == held
    assert all(m["mailbox_id"] == state["auxiliary_id"] for m in state["messages"] if m["id"] in held)
    message = next(iter(held))  # a message read by id at the main archive is redirected too
    moved = raw.get(_beta(tenant, f"users/{_mbx(state['archive_id'])}/messages/{quote(message, safe='')}/$value"))
    assert moved.status_code == 308 and state["auxiliary_id"] in moved.headers["Location"]
    # the product's client follows the 308 (same origin) and gets the MIME
    graph = tenant.services.graph
    mime = graph.request(
        "GET", _beta(tenant, f"users/{_mbx(state['archive_id'])}/messages/{quote(message, safe='')}/$value")
    )
    assert mime.status_code == 200 and b"Subject:" in mime.content


def _round(tenant: Tenant, url: str, headers: dict) -> tuple[list[dict], str, int]:
    graph, entries, pages = tenant.services.graph, [], 0
    while True:
        page = graph.get_json(url, headers=headers)
        pages += 1
        entries += page["value"]
        if "@odata.deltaLink" in page:
            return entries, page["@odata.deltaLink"], pages
        url = page["@odata.nextLink"]


def test_message_delta_pages_to_a_delta_link_and_reports_changes(tenant: Tenant, control: ArchiveControl):
    user = tenant.user(1)["id"]
    state = control.state(user)
    mbx = _mbx(state["archive_id"])
    headers = {"Prefer": "odata.maxpagesize=1"}
    for folder in state["folders"]:
        url = _beta(tenant, f"users/{mbx}/mailFolders/{quote(folder['id'], safe='')}/messages/delta")
        entries, link, pages = _round(tenant, url, headers)
        held = [m for m in state["messages"] if m["folder_id"] == folder["id"]]
        assert sorted(e["id"] for e in entries) == sorted(m["id"] for m in held) and pages == len(held)
        holder = state["auxiliary_id"] if folder["expanded"] else state["archive_id"]
        assert link.startswith(_beta(tenant, f"users/{holder}/")), link  # links name the store holding the folder
        if not folder["expanded"]:
            continue
        added = control.add_message(user, folder="Archive 2023/Projects", subject="Added to the auxiliary")
        gone = held[0]["id"]
        control.delete_message(user, gone)
        changed, _next, _pages = _round(tenant, link, headers)
        assert {e["id"]: ("@removed" in e) for e in changed} == {added["id"]: False, gone: True}
