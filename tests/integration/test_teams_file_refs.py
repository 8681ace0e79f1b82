"""Teams file references resolved to the SharePoint item that holds them (issue 13): the simulator's
/shares/{encoded sharing URL} routes, a backup that resolves each reference once per URL to the site's drive item and
stores no copy of the file, a reference whose file is gone kept unresolved (the message still backs up), the
transcript naming the SharePoint item, and a restore after the file's deletion that names the item to restore."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest

from core.errors import GraphError, GraphNotFound
from core.exports.downloads import open_zip
from core.restore import restore
from core.restore_request import RestoreRequest
from core.workloads.files.drive_backup import FILE
from core.workloads.files.workloads import SHAREPOINT
from core.workloads.teams.file_refs import encode_sharing_url
from core.workloads.teams.messages_backup import CHANNEL, CHANNEL_MESSAGE, TEAM_SETTINGS, message_key
from core.workloads.teams.workload import TEAMS
from graphsim.teams.control_client import TeamsControl
from graphsim.teams.seed import team_file_name
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant

SEED = 83


@dataclass
class World:
    tenant: Tenant
    control: TeamsControl
    resource: str  # the team
    site: str  # the team's site id
    drive: str  # its Documents library
    url: str  # the link the seeded messages hold
    item: dict  # the file as the drive API showed it before its deletion
    shared: dict  # /shares/{url}/driveItem before the deletion
    shared_root: dict  # /shares/{url}/root before the deletion
    sha: str  # the file's bytes
    refs: dict[str, str]  # channel name -> catalog id of its message with the reference
    runs: tuple[str, str, str]  # teams only; sharepoint and teams; teams after the file's deletion
    share_reads: int  # /shares requests of the first run
    downloads: int  # drive downloads during the first run
    blobs_after_first: set[str]


def _blobs(t: Tenant) -> list[str]:
    """The sha256 of every content blob (one name per stored blob)."""
    names = [b.name for b in t.services.content._container.list_blobs()]
    return [n.rsplit("/", 1)[-1] for n in names if n.startswith("sha256/")]


def _drive_items(t: Tenant) -> int:
    return int(t.sim.control.stats()["by_kind"]["drive_item"])


@pytest.fixture(scope="module")
def world(tmp_path_factory, azurite) -> Iterator[World]:
    settings = {"BACKUP_WORKLOADS": f"{SHAREPOINT.name},{TEAMS.name}"}
    t = open_tenant(
        tmp_path_factory.mktemp("teamsfiles") / "sim",
        isolated_storage(azurite),
        settings,
        users=2,
        messages=1,
        seed=SEED,
        contacts=0,
        events=0,
        drive_files=1,
        sites=1,
        list_items=1,
        teams=1,
        channel_messages=6,
    )
    control = TeamsControl(t.sim.base_url, t.sim.ca_file)
    try:
        state = control.state()
        team = next(g for g in state["groups"] if "Team" in g["resourceProvisioningOptions"])
        refs, url = {}, ""
        for channel in team["channels"]:
            for m in channel["messages"]:
                for a in m["attachments"]:
                    if a["contentType"] == "reference":
                        refs[channel["displayName"]], url = message_key(channel["id"], m["id"]), a["contentUrl"]
        site = t.sim.control.drives_state()["sites"][0]
        drive = site["drive_ids"][0]
        graph = t.services.graph
        item = graph.get_json(f"drives/{quote(drive)}/root:/General/{team_file_name(SEED)}")
        shared = graph.get_json(f"shares/{encode_sharing_url(url)}/driveItem")
        shared_root = graph.get_json(f"shares/{encode_sharing_url(url)}/root")
        sha = hashlib.sha256(t.sim.control.drive_item_content(drive, item["id"])).hexdigest()
        resource = f"{TEAMS.name}:{team['id']}"
        reads, downloads = _drive_items(t), t.sim.control.drive_stats()["download_requests"]
        first = t.backup(resources=[resource])  # teams only: the site is not backed up yet
        assert first["status"] == "succeeded", first
        reads, downloads = _drive_items(t) - reads, t.sim.control.drive_stats()["download_requests"] - downloads
        blobs = set(_blobs(t))
        second = t.backup()
        assert second["status"] == "succeeded", second
        t.sim.control.delete_drive_item(drive, item["id"])
        general = next(c for c in team["channels"] if c["displayName"] == "General")
        root = refs["General"].split("/")[1]
        control.react(team["id"], general["id"], root, t.mailboxes()[1]["id"])  # a change: resolved again
        third = t.backup(resources=[resource])
        assert third["status"] == "succeeded", third
        runs = (first["run_id"], second["run_id"], third["run_id"])
        yield World(
            t,
            control,
            resource,
            site["id"],
            drive,
            url,
            item,
            shared,
            shared_root,
            sha,
            refs,
            runs,
            reads,
            downloads,
            blobs,
        )
    finally:
        control.close()
        t.close()


def _files(world: World, key: str, run: int) -> list[dict]:
    version = world.tenant.services.catalog.version_as_of(world.resource, CHANNEL_MESSAGE, key, world.runs[run])
    assert version is not None
    return json.loads(version.extra)["files"]


def test_shares_answers_the_item_at_an_encoded_sharing_url_and_404_400_otherwise(world: World):
    documented = "u!" + base64.b64encode(world.url.encode()).decode().rstrip("=").replace("/", "_").replace("+", "-")
    assert encode_sharing_url(world.url) == documented
    for answer in (world.shared, world.shared_root):
        assert (answer["id"], answer["name"], answer["eTag"]) == (
            world.item["id"],
            world.item["name"],
            world.item["eTag"],
        )
        assert answer["webUrl"] == world.url == world.item["webUrl"]
        assert answer["parentReference"]["driveId"] == world.drive
        assert answer["parentReference"]["siteId"] == world.site
    graph = world.tenant.services.graph
    with pytest.raises(GraphNotFound):  # deleted since
        graph.get_json(f"shares/{encode_sharing_url(world.url)}/driveItem")
    with pytest.raises(GraphNotFound):  # a host of no drive of the tenant
        graph.get_json(f"shares/{encode_sharing_url('https://other.sharepoint.com/sites/x/a.docx')}/driveItem")
    for malformed in ("u!%25%25%25", "nonsense", f"u!{base64.urlsafe_b64encode(b'not a url').decode()}"):
        with pytest.raises(GraphError) as caught:
            graph.get_json(f"shares/{malformed}/driveItem")
        assert caught.value.status == 400 and caught.value.code == "invalidRequest"


def test_the_backup_links_each_reference_to_the_sites_drive_item_once_and_copies_no_bytes(world: World):
    assert set(world.refs) == {"General", "Design"}  # two messages, one link
    expected = {
        "name": team_file_name(SEED),
        "url": world.url,
        "resolved": True,
        "driveId": world.drive,
        "itemId": world.item["id"],
        "siteId": world.site,
        "webUrl": world.item["webUrl"],
        "eTag": world.item["eTag"],
        "resource": f"{SHAREPOINT.name}:{world.site}",
    }
    for key in world.refs.values():
        assert _files(world, key, 0) == [expected]
    assert world.share_reads == 1  # one /shares read for the one distinct link of the round
    assert world.downloads == 0  # the file is never downloaded by the teams backup
    services = world.tenant.services
    teams_hashes = set()
    for category in (CHANNEL_MESSAGE, CHANNEL, TEAM_SETTINGS):  # everything the team's backup holds
        for version in services.catalog.as_of(world.resource, category, world.runs[0]):
            extra = json.loads(version.extra) if version.extra else {}
            teams_hashes |= {version.content_hash} | {h["sha256"] for h in extra.get("hosted") or []}
    teams_hashes.discard("")  # a channel version has no content
    assert world.blobs_after_first == teams_hashes and world.sha not in teams_hashes
    site_resource = f"{SHAREPOINT.name}:{world.site}"
    held = services.catalog.version_as_of(site_resource, FILE, f"{world.drive}/{world.item['id']}", world.runs[1])
    assert held is not None and held.content_hash == world.sha  # held by the sharepoint workload, once
    assert _blobs(world.tenant).count(world.sha) == 1


def test_a_reference_whose_file_is_gone_is_kept_unresolved_and_the_message_backs_up(world: World):
    files = _files(world, world.refs["General"], 2)
    assert [(f["url"], f["resolved"]) for f in files] == [(world.url, False)]
    assert "404" in files[0]["reason"] and "itemNotFound" in files[0]["reason"]
    services = world.tenant.services
    before = services.catalog.version_as_of(world.resource, CHANNEL_MESSAGE, world.refs["General"], world.runs[1])
    after = services.catalog.version_as_of(world.resource, CHANNEL_MESSAGE, world.refs["General"], world.runs[2])
    assert before is not None and after is not None and after.content_hash != before.content_hash
    assert json.loads(services.content.read(after.content_hash))["reactions"]  # the change was backed up


def _transcript(world: World, run: int) -> tuple[str, list[dict]]:
    export = open_zip(world.tenant.services, world.resource, run_id=world.runs[run], category=CHANNEL_MESSAGE)
    out = io.BytesIO()
    export.write_to(out)
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    return archive.read("General/transcript.html").decode(), json.loads(archive.read("General/messages.json"))


def test_the_transcript_and_json_name_the_sharepoint_item_that_holds_the_file(world: World):
    held = f"held in {SHAREPOINT.name}:{world.site} item {world.drive}/{world.item['id']}"
    page, document = _transcript(world, 1)
    assert held in page and world.url in page
    refs = [r for m in document for r in m.get("fileReferences") or []]
    assert [(r["url"], r["heldIn"]) for r in refs] == [(world.url, held)]
    page, _document = _transcript(world, 0)  # before the site's first backup
    assert "site not backed up as of this point" in page and held not in page
    page, _document = _transcript(world, 2)  # the file deleted before the message changed
    assert "not resolved: the link did not resolve (404 itemNotFound)" in page


def test_restoring_a_thread_after_its_file_was_deleted_names_the_item_to_restore(world: World):
    root = world.refs["General"].split("/")[1]
    request = RestoreRequest(
        resource=world.resource,
        run_id=world.runs[1],
        folder=f"General/{root}",
        destination="new-folder",
        destination_name="Files thread",
        category=CHANNEL_MESSAGE,
    )
    report = restore(world.tenant.services, request)
    assert report.failed == 0 and report.restored == 1, report.to_dict()
    entry = next(e for e in report.items if e["item_id"] == world.refs["General"])
    held = f"held in {SHAREPOINT.name}:{world.site} item {world.drive}/{world.item['id']}: restore it from there"
    assert (
        entry["missing_files"]
        == f"{team_file_name(SEED)} ({world.url}): the link did not resolve (404 itemNotFound); {held}"
    )
    team = next(g for g in world.control.state()["groups"] if g["id"] == world.resource.split(":", 1)[1])
    copy = next(c for c in team["channels"] if c["displayName"] == "Files thread")
    assert [a["contentUrl"] for a in copy["messages"][0]["attachments"]] == [world.url]  # the link, as it was
