"""The simulator's mailbox import/export API on in-place archives, as "Use mailbox import and export APIs with archive
mailboxes", "mailbox: exportItems", "mailbox: createImportSession", "Import an Exchange mailbox item" and "Handle
archive mailbox redirects" describe it: its own folder and item ids, an expanded folder's 308, exportItems (at most
20 ids, per-item errors, the auxiliary's redirect error), the pre-authenticated import URL (create, update, the 409
naming the auxiliary archive, an unknown session) and an imported message seen through the beta Mail API."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from core.errors import GraphError
from core.workloads.exchange import mailbox_api
from graphsim.archive.control_client import ArchiveControl
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, surface_tenant


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    state_dir = tmp_path_factory.mktemp("sim-mailbox-import") / "sim"
    with surface_tenant(state_dir, isolated_storage(azurite), users=1, seed=31, archive_messages=4) as t:
        yield t


@pytest.fixture(scope="module")
def control(tenant: Tenant) -> Iterator[ArchiveControl]:
    with ArchiveControl(tenant.sim.base_url, tenant.sim.ca_file) as c:
        yield c


@pytest.fixture(scope="module")
def archive(tenant: Tenant, control: ArchiveControl) -> dict:
    return control.state(tenant.user(0)["id"])


def _beta_message(graph, mailbox: str, message_id: str) -> str:
    return f"{graph.endpoint}/beta/users/{quote(mailbox, safe='')}/messages/{quote(message_id, safe='')}"


@pytest.fixture(scope="module")
def plain(tenant: Tenant) -> Iterator[httpx.Client]:
    """Plain HTTPS, no token, redirects not followed: what the simulator answers, as it answers it."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(tenant.sim.ca_file))) as client:
        yield client


def test_folders_have_ids_of_their_own_and_name_the_mailbox_holding_them(tenant: Tenant, archive: dict, plain):
    graph = tenant.services.graph
    folders = mailbox_api.folder_paths(graph, archive["archive_id"])
    assert set(folders) == {"Archive 2023", "Archive 2023/Projects"}
    assert not set(folders.values()) & {f["id"] for f in archive["folders"]}  # not the Mail API's ids
    url = f"{mailbox_api.mailbox_url(graph, archive['archive_id'])}/folders/{quote(folders['Archive 2023'])}"
    [projects] = [f for page in graph.iter_pages(f"{url}/childFolders") for f in page]
    assert projects["parentMailboxUrl"].endswith(archive["auxiliary_id"])
    token = graph._tokens.token()
    answer = plain.get(  # the expanded folder read at the main archive: 308 to the auxiliary
        f"{url[: url.rindex('/folders/')]}/folders/{quote(projects['id'])}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 308 and archive["auxiliary_id"] in answer.headers["Location"]


def test_items_match_messages_by_internet_message_id_through_the_redirect(tenant: Tenant, archive: dict):
    graph = tenant.services.graph
    folders = mailbox_api.folder_paths(graph, archive["archive_id"])
    items = mailbox_api.items_by_message_id(graph, archive["archive_id"], folders["Archive 2023/Projects"])
    held = {m["internetMessageId"] for m in archive["messages"] if m["folder_path"] == "/Archive 2023/Projects"}
    assert held and set(items) == held
    assert not set(items.values()) & {m["id"] for m in archive["messages"]}


def test_export_items_answers_streams_errors_and_the_auxiliary_redirect(tenant: Tenant, control, archive: dict):
    graph, main = tenant.services.graph, archive["archive_id"]
    folders = mailbox_api.folder_paths(graph, main)
    top = mailbox_api.items_by_message_id(graph, main, folders["Archive 2023"])
    projects = mailbox_api.items_by_message_id(graph, main, folders["Archive 2023/Projects"])
    url = f"{mailbox_api.mailbox_url(graph, main)}/exportItems"
    ids = [*top.values(), *projects.values(), "EDSnosuchitem"]
    answer = graph.post_json(url, {"itemIds": ids}, replay_safe=True)["value"]
    by_id = {e["itemId"]: e for e in answer}
    assert all(base64.b64decode(by_id[i]["data"]) and by_id[i]["changeKey"] for i in top.values())
    moved = [by_id[i]["error"] for i in projects.values()]
    assert moved and {e["code"] for e in moved} == {"ErrorArchiveFolderMovedPermanently"}
    assert all(e["message"].endswith(f"{archive['auxiliary_id']}/exportItems") for e in moved)
    assert by_id["EDSnosuchitem"]["error"]["code"] == "ErrorItemNotFound"
    # the client asks the auxiliary for the moved ones
    streams = mailbox_api.export_items(graph, main, ids[:-1])
    assert set(streams) == set(ids[:-1]) and all(isinstance(s, bytes) for s in streams.values())
    with pytest.raises(GraphError) as too_many:  # "up to 20 items in a single export request"
        graph.post_json(url, {"itemIds": [f"id{k}" for k in range(21)]}, replay_safe=True)
    assert too_many.value.status == 400
    user = tenant.user(0)["id"]
    failing = next(m for m in archive["messages"] if m["mailbox_id"] == main)
    control.fail_export(user, failing["id"])
    try:
        failed = mailbox_api.export_items(graph, main, [top[failing["internetMessageId"]]])
    finally:
        control.fail_export(user, failing["id"], fail=False)
    assert failed == {top[failing["internetMessageId"]]: "export answered ErrorCorruptData"}


def test_an_import_creates_the_message_as_exported_where_the_mail_api_sees_it(tenant: Tenant, control, archive):
    graph, main, user = tenant.services.graph, archive["archive_id"], tenant.user(0)["id"]
    folders = mailbox_api.folder_paths(graph, main)
    top = mailbox_api.items_by_message_id(graph, main, folders["Archive 2023"])
    original = next(m for m in archive["messages"] if m["folder_path"] == "/Archive 2023")
    stream = mailbox_api.export_items(graph, main, [top[original["internetMessageId"]]])
    data = stream[top[original["internetMessageId"]]]
    assert isinstance(data, bytes)
    session = mailbox_api.create_import_session(graph, main)
    assert mailbox_api.usable(session) and session.url.startswith("https://")
    before = graph.get_json(_beta_message(graph, main, original["id"]))
    control.delete_message(user, original["id"])
    answer = mailbox_api.import_item(graph, session, folders["Archive 2023"], data)
    assert answer["itemId"].startswith("EDS") and answer["changeKey"]
    [back] = [
        m for m in control.messages(user, "Archive 2023") if m["internetMessageId"] == before["internetMessageId"]
    ]
    got = graph.get_json(_beta_message(graph, main, back["id"]))
    assert got["isDraft"] is False and back["sha256"] == original["sha256"]
    for key in ("subject", "receivedDateTime", "sentDateTime", "isRead", "flag", "categories", "importance", "from"):
        assert got[key] == before[key], key
    kinds = tenant.sim.control.stats()["by_kind"]  # the import URL was sent no bearer token
    assert kinds["mailbox_import"] >= 1 and kinds["mailbox_import_with_authorization"] == 0
    # an expanded folder: the main archive's session is refused with 409 naming the auxiliary archive
    with pytest.raises(GraphError) as refused:
        mailbox_api.import_item(graph, session, folders["Archive 2023/Projects"], data)
    assert refused.value.status == 409 and refused.value.location == archive["auxiliary_id"]
    assert "authtoken" not in str(refused.value)


def test_the_import_url_checks_its_session_and_its_body(tenant: Tenant, archive: dict, plain: httpx.Client):
    graph, main = tenant.services.graph, archive["archive_id"]
    folders = mailbox_api.folder_paths(graph, main)
    session = mailbox_api.create_import_session(graph, main)
    folder = folders["Archive 2023"]
    unknown = plain.post(session.url.replace("authtoken=", "authtoken=x"), json={"FolderId": folder})
    keyed = plain.post(session.url, json={"FolderId": folder, "Mode": "create", "Data": "AA==", "ItemId": "x"})
    garbage = plain.post(session.url, json={"FolderId": folder, "Mode": "create", "Data": "bm90IGEgc3RyZWFt"})
    update = plain.post(session.url, json={"FolderId": folder, "Mode": "update", "Data": "AA==", "ItemId": "x",
                                           "ChangeKey": "y"})  # fmt: skip
    assert (unknown.status_code, keyed.status_code, garbage.status_code, update.status_code) == (401, 400, 400, 400)
