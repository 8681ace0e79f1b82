"""The Graph tenant simulator over real loopback HTTPS: identity with msal, users, folders, delta, MIME, limits."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msal
import pytest
import requests

from graphsim.process import SimulatorProcess, start_simulator

GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    with start_simulator(tmp_path_factory.mktemp("graphsim"), users=4, messages=30, seed=7) as process:
        yield process


def msal_app(sim: SimulatorProcess, secret: str | None = None) -> msal.ConfidentialClientApplication:
    session = requests.Session()
    session.verify = sim.ca_file
    session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment overrides `verify`
    return msal.ConfidentialClientApplication(
        sim.client_id,
        client_credential=secret or sim.client_secret,
        authority=f"{sim.base_url}/{sim.tenant_id}",
        validate_authority=False,
        instance_discovery=False,
        http_client=session,
    )


class MsalAuth(httpx.Auth):
    """Bearer token from msal; on a 401 (token revoked by a test) a fresh token and one retry."""

    def __init__(self, sim: SimulatorProcess) -> None:
        self.sim = sim
        self.token = self._fresh()

    def _fresh(self) -> str:
        result = msal_app(self.sim).acquire_token_for_client(scopes=GRAPH_SCOPE)
        assert "access_token" in result, result
        return str(result["access_token"])

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            self.token = self._fresh()
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


@pytest.fixture(scope="module")
def graph(sim: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sim.base_url}/v1.0", verify=tls(sim), auth=MsalAuth(sim), timeout=10) as client:
        yield client


def tls(sim: SimulatorProcess) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=sim.ca_file)


def users_with_mailbox(sim: SimulatorProcess) -> list[dict[str, Any]]:
    return sim.control.mailbox_users()


def run_round(graph: httpx.Client, url: str, page_size: int = 3) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink: (items, deltaLink, pages)."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        response = graph.get(url, headers={"Prefer": f"odata.maxpagesize={page_size}"})
        assert response.status_code == 200, response.text
        assert response.headers["Preference-Applied"] == f"odata.maxpagesize={page_size}"
        body = response.json()
        pages += 1
        assert len(body["value"]) <= page_size
        items += body["value"]
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]
        assert url.startswith(f"{graph.base_url.scheme}://") and "$skiptoken=" in url


def state_messages(sim: SimulatorProcess, user_id: str) -> dict[str, dict[str, Any]]:
    user = next(u for u in sim.control.state()["users"] if u["id"] == user_id)
    return {m["id"]: m for m in user["messages"]}


def folder_id(sim: SimulatorProcess, user_id: str, path: str) -> str:
    user = next(u for u in sim.control.state()["users"] if u["id"] == user_id)
    return next(f["id"] for f in user["folders"] if f["path"] == path)


def test_msal_client_credentials_and_bearer_checks(sim: SimulatorProcess, graph: httpx.Client) -> None:
    assert set(sim.graph_env()) == {"GRAPH_TENANT_ID", "GRAPH_CLIENT_ID", "GRAPH_CLIENT_SECRET", "GRAPH_ENDPOINT",
                                    "GRAPH_AUTHORITY_HOST", "GRAPH_CA_BUNDLE", "GRAPH_SHAREPOINT_RU_PER_MINUTE",
                                    "GRAPH_SHAREPOINT_RU_WINDOW_SECONDS"}  # fmt: skip
    assert sim.graph_env()["GRAPH_SHAREPOINT_RU_PER_MINUTE"] == "0"  # started without an RU budget: none to keep
    bad = msal_app(sim, secret="wrong").acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert bad.get("error") == "invalid_client"
    with httpx.Client(verify=tls(sim)) as anonymous:
        response = anonymous.get(f"{sim.base_url}/v1.0/users")
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken"
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
        forged = anonymous.get(f"{sim.base_url}/v1.0/users", headers={"Authorization": "Bearer a.b.c"})
        assert forged.status_code == 401
    assert graph.get("/users").status_code == 200
    # certificate credentials (private_key_jwt) work too
    assert sim.client_certificate_file
    pem = Path(sim.client_certificate_file).read_text()
    session = requests.Session()
    session.verify = sim.ca_file
    session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment overrides `verify`
    cert_app = msal.ConfidentialClientApplication(
        sim.client_id,
        client_credential={"private_key": pem, "public_certificate": pem[pem.index("-----BEGIN CERTIFICATE") :]},
        authority=f"{sim.base_url}/{sim.tenant_id}",
        validate_authority=False,
        instance_discovery=False,
        http_client=session,
    )
    assert "access_token" in cert_app.acquire_token_for_client(scopes=GRAPH_SCOPE)


def test_short_lived_and_revoked_tokens(sim: SimulatorProcess) -> None:
    sim.control.configure(token_lifetime=1)
    try:
        assert msal_app(sim).acquire_token_for_client(scopes=GRAPH_SCOPE)["expires_in"] == 1
    finally:
        sim.control.configure(token_lifetime=3600)
    # revocation, with a token that a loaded machine cannot let expire between two requests (a 1 s one could)
    token = msal_app(sim).acquire_token_for_client(scopes=GRAPH_SCOPE)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with httpx.Client(verify=tls(sim), headers=headers) as client:
        assert client.get(f"{sim.base_url}/v1.0/users").status_code == 200
        sim.control.expire_access_tokens()
        response = client.get(f"{sim.base_url}/v1.0/users")
        assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


def test_user_paging_select_and_no_mailbox(graph: httpx.Client, sim: SimulatorProcess) -> None:
    users: list[dict[str, Any]] = []
    url = "/users?$top=2&$select=id,displayName,mail"
    while url:
        body = graph.get(url).json()
        users += body["value"]
        url = body.get("@odata.nextLink", "")
        assert not url or url.startswith(sim.base_url + "/v1.0/users?")
    assert len(users) == 5 and all(set(u) == {"id", "displayName", "mail"} for u in users)
    no_mailbox = [u for u in users if u["mail"] is None]
    assert len(no_mailbox) == 1
    response = graph.get(f"/users/{no_mailbox[0]['id']}/mailFolders")
    assert response.status_code == 404 and response.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"
    one = graph.get(f"/users/{users[0]['id']}").json()
    assert {"userPrincipalName", "displayName", "mail", "id"} <= set(one)


def test_folder_tree(graph: httpx.Client, sim: SimulatorProcess) -> None:
    uid = users_with_mailbox(sim)[0]["id"]
    visible = graph.get(f"/users/{uid}/mailFolders?$top=50").json()["value"]
    names = {f["displayName"] for f in visible}
    assert names == {"Inbox", "Sent Items", "Deleted Items", "Drafts", "Archive", "Junk Email"}
    paged: list[dict[str, Any]] = []
    url = f"/users/{uid}/mailFolders?includeHiddenFolders=true&$top=2"
    while url:
        body = graph.get(url).json()
        paged += body["value"]
        url = body.get("@odata.nextLink", "")
    assert len(paged) == 7 and any(f["isHidden"] for f in paged)
    inbox = graph.get(f"/users/{uid}/mailFolders/inbox").json()
    assert inbox["childFolderCount"] == 1 and {"unreadItemCount", "totalItemCount", "parentFolderId"} <= set(inbox)
    projects = graph.get(f"/users/{uid}/mailFolders/{inbox['id']}/childFolders").json()["value"]
    assert [p["displayName"] for p in projects] == ["Projects"]
    sub = graph.get(f"/users/{uid}/mailFolders/{projects[0]['id']}/childFolders").json()["value"]
    assert [s["displayName"] for s in sub] == ["2026"] and sub[0]["parentFolderId"] == projects[0]["id"]
    created = graph.post(f"/users/{uid}/mailFolders/inbox/childFolders", json={"displayName": "Restored"})
    assert created.status_code == 201 and created.json()["parentFolderId"] == inbox["id"]
    again = graph.post(f"/users/{uid}/mailFolders/inbox/childFolders", json={"displayName": "Restored"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "ErrorFolderExists"


def test_delta_full_then_incremental_round(graph: httpx.Client, sim: SimulatorProcess) -> None:
    uid = users_with_mailbox(sim)[1]["id"]
    inbox_id = folder_id(sim, uid, "/Inbox")
    items, delta_link, pages = run_round(graph, f"/users/{uid}/mailFolders/inbox/messages/delta", page_size=3)
    in_inbox = [m for m in state_messages(sim, uid).values() if m["folder_id"] == inbox_id]
    assert pages > 2 and sorted(i["id"] for i in items) == sorted(m["id"] for m in in_inbox)
    assert all(i["parentFolderId"] == inbox_id and i["changeKey"] for i in items)
    # changes: add, change MIME, change metadata, move out, hard delete, move in
    ids = [i["id"] for i in items]
    added = sim.control.add_message(uid, "inbox", subject="New arrival", attachments=1)
    changed = sim.control.update_message(uid, ids[0], subject="Edited subject")
    flagged = sim.control.update_message(uid, ids[1], isRead=True, categories=["Red"], flag="flagged")
    sim.control.move_message(uid, ids[2], "archive")
    sim.control.delete_message(uid, ids[3])
    archived = sim.control.list_messages(uid, "archive")[0]
    sim.control.move_message(uid, archived["id"], "inbox")
    changes, next_link, _ = run_round(graph, delta_link, page_size=2)
    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {added["id"], ids[0], ids[1], ids[2], ids[3], archived["id"]}
    assert by_id[ids[2]]["@removed"] == {"reason": "deleted"} and by_id[ids[3]]["@removed"] == {"reason": "deleted"}
    assert by_id[ids[0]]["subject"] == "Edited subject" and by_id[ids[0]]["changeKey"] != items[0]["changeKey"]
    assert by_id[ids[0]]["changeKey"] == changed["changeKey"]
    assert by_id[ids[1]]["isRead"] is True and by_id[ids[1]]["categories"] == ["Red"] and flagged
    assert by_id[archived["id"]]["parentFolderId"] == inbox_id and by_id[added["id"]]["hasAttachments"] is True
    quiet, _, _ = run_round(graph, next_link)
    assert quiet == []
    # the moved message keeps its id in its new folder
    archive_items, _, _ = run_round(graph, f"/users/{uid}/mailFolders/archive/messages/delta?$select=subject")
    moved = next(i for i in archive_items if i["id"] == ids[2])
    assert set(moved) <= {"@odata.type", "@odata.etag", "id", "subject"}


def test_delta_paging_is_stable_while_the_mailbox_changes(graph: httpx.Client, sim: SimulatorProcess) -> None:
    uid = users_with_mailbox(sim)[2]["id"]
    url = f"/users/{uid}/mailFolders/inbox/messages/delta"
    before = {m["id"] for m in sim.control.list_messages(uid, "inbox")}
    first = graph.get(url, headers={"Prefer": "odata.maxpagesize=2"}).json()
    seen = [i["id"] for i in first["value"]]
    victim = next(iter(before - set(seen)))
    added = sim.control.add_message(uid, "inbox", subject="During the round")
    sim.control.delete_message(uid, victim)
    rest, delta_link, _ = run_round(graph, first["@odata.nextLink"], page_size=2)
    assert set(seen + [i["id"] for i in rest]) == before
    changes, _, _ = run_round(graph, delta_link)
    assert {c["id"]: c.get("@removed") for c in changes} == {added["id"]: None, victim: {"reason": "deleted"}}


def test_expired_and_garbled_tokens_answer_410(graph: httpx.Client, sim: SimulatorProcess) -> None:
    uid = users_with_mailbox(sim)[3]["id"]
    url = f"/users/{uid}/mailFolders/sentitems/messages/delta"
    _, delta_link, _ = run_round(graph, url, page_size=50)
    first = graph.get(url, headers={"Prefer": "odata.maxpagesize=1"}).json()
    sim.control.expire_delta_tokens(uid)
    for link in (delta_link, first["@odata.nextLink"]):
        response = graph.get(link)
        assert response.status_code == 410 and response.json()["error"]["code"] == "SyncStateNotFound"
    garbled = graph.get(f"{url}?$deltatoken=not-a-token")
    assert garbled.status_code == 410 and garbled.json()["error"]["code"] == "SyncStateNotFound"
    assert run_round(graph, url)[0]  # a fresh full round works again


def test_value_bytes_and_create_from_mime(graph: httpx.Client, sim: SimulatorProcess) -> None:
    uid = users_with_mailbox(sim)[0]["id"]
    messages = state_messages(sim, uid)
    for summary in list(messages.values())[:8]:
        raw = graph.get(f"/users/{uid}/messages/{summary['id']}/$value").content
        assert hashlib.sha256(raw).hexdigest() == summary["sha256"] and len(raw) == summary["size"]
    mime = sim.control.message_mime(uid, next(iter(messages)))
    other = users_with_mailbox(sim)[3]["id"]
    headers = {"Content-Type": "text/plain"}
    created = graph.post(
        f"/users/{other}/mailFolders/archive/messages", content=base64.b64encode(mime), headers=headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    original = graph.get(f"/users/{uid}/messages/{next(iter(messages))}").json()
    for key in ("subject", "internetMessageId", "from", "toRecipients", "sentDateTime", "hasAttachments"):
        assert body[key] == original[key], key
    assert graph.get(f"/users/{other}/messages/{body['id']}/$value").content == mime
    imid = body["internetMessageId"].replace("'", "''")
    found = graph.get(
        f"/users/{other}/mailFolders/archive/messages", params={"$filter": f"internetMessageId eq '{imid}'"}
    )
    assert [m["id"] for m in found.json()["value"]] == [body["id"]]
    bad = graph.post(f"/users/{other}/mailFolders/archive/messages", content=b"@@not base64@@", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "ErrorMimeContentInvalidBase64String"
    junk = graph.post(
        f"/users/{other}/mailFolders/archive/messages", content=base64.b64encode(b"\x00\x01"), headers=headers
    )
    assert junk.status_code == 400 and junk.json()["error"]["code"] == "ErrorMimeContentConversionFailed"
    gone = graph.get(f"/users/{other}/messages/AAMkAnonexistent=")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "ErrorItemNotFound"


def test_fifth_concurrent_request_for_a_mailbox_is_throttled(graph: httpx.Client, sim: SimulatorProcess) -> None:
    uid = users_with_mailbox(sim)[0]["id"]
    sim.control.configure(latency_ms=500)
    sim.control.reset_stats()

    async def burst() -> list[httpx.Response]:
        headers = {
            "Authorization": f"Bearer {msal_app(sim).acquire_token_for_client(scopes=GRAPH_SCOPE)['access_token']}"
        }
        async with httpx.AsyncClient(verify=tls(sim), headers=headers) as client:
            url = f"{sim.base_url}/v1.0/users/{uid}/mailFolders/inbox"
            return await asyncio.gather(*(client.get(url) for _ in range(5)))

    try:
        responses = asyncio.run(burst())
    finally:
        sim.control.configure(latency_ms=0)
    throttled = [r for r in responses if r.status_code == 429]
    assert len(throttled) == 1 and sum(r.status_code == 200 for r in responses) == 4
    assert throttled[0].headers["Retry-After"] and throttled[0].json()["error"]["code"] == "ApplicationThrottled"
    stats = sim.control.stats()
    assert stats["max_in_flight"][uid] == 4 and stats["answered_429"] == 1 and stats["by_kind"]["folders"] == 5


def test_throttle_storm_and_rate_limit(graph: httpx.Client, sim: SimulatorProcess) -> None:
    uid = users_with_mailbox(sim)[1]["id"]
    sim.control.reset_stats()
    sim.control.throttle_storm(2, status=503, retry_after="0.5")
    sim.control.throttle_storm(1, status=429, retry_after=None)
    codes = [graph.get(f"/users/{uid}/mailFolders") for _ in range(4)]
    assert [r.status_code for r in codes] == [503, 503, 429, 200]
    assert codes[0].headers["Retry-After"] == "0.5" and "Retry-After" not in codes[2].headers
    stats = sim.control.stats()
    assert stats["answered_503"] == 2 and stats["answered_429"] == 1 and stats["answered_5xx"] == 2
    sim.control.configure(rate_limit="3/5")
    try:
        answers = [graph.get(f"/users/{uid}/mailFolders/inbox") for _ in range(4)]
    finally:
        sim.control.configure(rate_limit=None)
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert 0 < float(answers[3].headers["Retry-After"]) <= 5


def test_mailbox_message_and_delta_page_faults(graph: httpx.Client, sim: SimulatorProcess) -> None:
    users = users_with_mailbox(sim)
    uid, other = users[2]["id"], users[3]["id"]
    victim = sim.control.list_messages(uid, "inbox")[0]["id"]
    sim.control.set_faults(
        {"kind": "mailbox", "user": other, "status": 403},
        {"kind": "corrupt_message", "user": uid, "message": victim},
        {"kind": "delta_page", "user": uid, "mode": "invalid_json"},
        {"kind": "delta_page", "user": uid, "mode": "no_value"},
    )
    try:
        assert graph.get(f"/users/{other}/mailFolders").status_code == 403
        for _ in range(2):
            value = graph.get(f"/users/{uid}/messages/{victim}/$value")
            assert value.status_code == 500 and value.json()["error"]["code"] == "ErrorInternalServerError"
        url = f"/users/{uid}/mailFolders/inbox/messages/delta"
        broken = graph.get(url)
        assert broken.status_code == 200
        with pytest.raises(ValueError):
            broken.json()
        assert "value" not in graph.get(url).json()
        assert "value" in graph.get(url).json()
    finally:
        sim.control.clear_faults()
    assert graph.get(f"/users/{uid}/messages/{victim}/$value").status_code == 200


def test_same_seed_gives_byte_identical_mime(tmp_path: Path) -> None:
    hashes = []
    for run in ("a", "b"):
        with start_simulator(tmp_path / run, users=2, messages=40, seed=11) as process:
            state = process.control.state()
            hashes.append([[m["sha256"] for m in u["messages"]] for u in state["users"] if u["has_mailbox"]])
    assert hashes[0] == hashes[1]
    first, second = hashes[0]
    assert set(first) & set(second), "broadcast messages are byte-identical in every mailbox"
