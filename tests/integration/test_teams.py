"""Teams channel messages end to end against the simulator: discovery by the team filter, a full backup (roots,
replies, inline images, the team's settings, members, tabs and channels), an incremental after a new message, a
reply to an old thread, an edit and a soft delete (kept as a version), a restore as of the first point into a new
channel through migration mode equal to the original as the simulator shows it, a rerun that imports nothing twice,
and the HTML transcript and JSON export parsed back."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest

from core.exports.downloads import open_download, open_zip
from core.exports.transcripts import safe_body
from core.restore import restore
from core.restore_request import RestoreRequest
from core.workloads.teams.messages_backup import CHANNEL, CHANNEL_MESSAGE, TEAM_SETTINGS, message_key
from core.workloads.teams.workload import TEAMS
from graphsim.teams.control_client import TeamsControl
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant

IMG = re.compile(r"""src="[^"]*/hostedContents/[^/"]+/\$value\"""")


@dataclass
class World:
    tenant: Tenant
    control: TeamsControl
    team: dict
    resource: str
    runs: tuple[str, str]
    before: dict  # the simulator's state at the first run
    changes: dict[str, str]  # what was changed: message ids


def _team(state: dict) -> dict:
    return next(g for g in state["groups"] if "Team" in g["resourceProvisioningOptions"])


def _channel(team: dict, name: str) -> dict:
    return next(c for c in team["channels"] if c["displayName"] == name)


@pytest.fixture(scope="module")
def world(tmp_path_factory, azurite) -> Iterator[World]:
    settings = {"BACKUP_WORKLOADS": TEAMS.name}
    t = open_tenant(
        tmp_path_factory.mktemp("teams") / "sim",
        isolated_storage(azurite),
        settings,
        users=2,
        messages=1,
        seed=29,
        contacts=0,
        events=0,
        drive_files=1,
        sites=1,
        channel_messages=3,
    )
    control = TeamsControl(t.sim.base_url, t.sim.ca_file)
    try:
        first = t.backup()
        assert first["status"] == "succeeded", first
        before = control.state()
        team = _team(before)
        general = _channel(team, "General")
        users = [u["id"] for u in t.mailboxes()]
        roots = general["messages"]
        new = control.post(team["id"], general["id"], users[1], "A new message after the first backup")
        reply = control.post(
            team["id"], general["id"], users[0], "A late reply to the first thread", reply_to=roots[0]["id"]
        )
        control.edit(team["id"], general["id"], roots[1]["id"], "Edited text of the second thread")
        control.delete(team["id"], general["id"], roots[2]["id"])
        second = t.backup()
        assert second["status"] == "succeeded", second
        changes = {
            "new": new["id"],
            "reply": reply["id"],
            "edited": roots[1]["id"],
            "deleted": roots[2]["id"],
            "root0": roots[0]["id"],
        }
        yield World(
            t, control, team, f"{TEAMS.name}:{team['id']}", (first["run_id"], second["run_id"]), before, changes
        )
    finally:
        control.close()
        t.close()


def _catalog(world: World, run: int) -> dict[str, object]:
    versions = world.tenant.services.catalog.as_of(world.resource, CHANNEL_MESSAGE, world.runs[run])
    return {v.item_id: v for v in versions}


def _content(world: World, version) -> dict:
    return json.loads(world.tenant.services.content.read(version.content_hash))


def test_discovery_picks_the_teams_and_not_a_plain_group(world: World):
    state = world.control.state()
    plain = [g["id"] for g in state["groups"] if not g["resourceProvisioningOptions"]]
    assert plain, "the simulator seeds a Microsoft 365 group that is not a team"
    assert TEAMS.handler.discover(world.tenant.services) == [world.team["id"]]


def test_the_full_backup_holds_every_message_reply_image_and_the_team_settings(world: World):
    catalog = _catalog(world, 0)
    expected = set()
    for channel in world.team["channels"]:
        for root in channel["messages"]:
            expected.add(message_key(channel["id"], root["id"]))
            expected |= {message_key(channel["id"], r["id"], root["id"]) for r in root["replies"]}
    assert set(catalog) == expected
    general = _channel(world.team, "General")
    image_root = general["messages"][0]
    version = catalog[message_key(general["id"], image_root["id"])]
    stored = _content(world, version)
    assert stored == {k: v for k, v in image_root.items() if k not in ("hosted", "replies")}
    hosted = json.loads(version.extra)["hosted"]
    assert [base64.b64decode(image_root["hosted"][h["id"]]) for h in hosted] == [
        world.tenant.services.content.read(h["sha256"]) for h in hosted
    ]
    assert version.received == image_root["createdDateTime"] and version.sender
    channels = {
        v.name: json.loads(v.extra) for v in world.tenant.services.catalog.as_of(world.resource, CHANNEL, world.runs[0])
    }
    assert channels["Design"]["membershipType"] == "private" and channels["General"]["membershipType"] == "standard"
    meta = list(world.tenant.services.catalog.as_of(world.resource, TEAM_SETTINGS, world.runs[0]))
    team_json = json.loads(world.tenant.services.content.read(meta[0].content_hash))
    assert team_json["team"]["messagingSettings"]["allowUserEditMessages"] is True
    mailboxes = {u["id"] for u in world.tenant.mailboxes()}
    assert mailboxes <= {m["userId"] for m in team_json["members"]} and any(m["roles"] for m in team_json["members"])
    assert all(c["tabs"] for c in team_json["channels"])
    design = next(c for c in team_json["channels"] if c["displayName"] == "Design")
    assert design["members"], "a private channel's members are kept"


def test_the_incremental_catches_a_new_message_a_late_reply_an_edit_and_a_soft_delete(world: World):
    general = _channel(world.team, "General")
    first, second = _catalog(world, 0), _catalog(world, 1)
    c = world.changes
    new_key = message_key(general["id"], c["new"])
    reply_key = message_key(general["id"], c["reply"], c["root0"])
    assert set(second) - set(first) == {new_key, reply_key}  # the reply did not surface its root in delta
    edited = message_key(general["id"], c["edited"])
    assert "Edited text" in _content(world, second[edited])["body"]["content"]
    assert "Edited text" not in _content(world, first[edited])["body"]["content"]
    assert _content(world, second[edited])["lastEditedDateTime"]
    deleted = message_key(general["id"], c["deleted"])
    assert deleted in second, "a soft delete is a new version, not the end of the item"
    now = _content(world, second[deleted])
    then = _content(world, first[deleted])
    assert now["deletedDateTime"] and not now["body"]["content"]
    assert not then["deletedDateTime"] and "Update 3" in then["body"]["content"]
    history = world.tenant.services.catalog.history(world.resource, CHANNEL_MESSAGE, deleted)
    assert len(history) == 2 and second[deleted].name == "(deleted message)"


def _normalized(message: dict) -> str:
    body = IMG.sub('src="IMAGE"', message["body"]["content"])
    return json.dumps(
        [
            message["createdDateTime"],
            message["from"]["user"]["id"],
            message["from"]["user"]["displayName"],
            body,
            message.get("subject"),
            message["importance"],
            message["mentions"],
            message["attachments"],
            sorted(message.get("hosted", {}).values()),
        ],
        sort_keys=True,
    )


def _restore_first_point(world: World) -> object:
    request = RestoreRequest(
        resource=world.resource,
        run_id=world.runs[0],
        folder="General",
        destination="new-folder",
        destination_name="Restored General",
        category=CHANNEL_MESSAGE,
    )
    return restore(world.tenant.services, request)


def test_a_restore_as_of_the_first_point_into_a_new_channel_equals_the_original(world: World):
    report = _restore_first_point(world)
    original = _channel(world.team, "General")
    count = sum(1 + len(m["replies"]) for m in original["messages"])
    assert (report.restored, report.failed) == (count, 0), report.to_dict()
    state = world.control.state()
    restored = _channel(_team(state), "Restored General")
    assert restored["migrationMode"] == "completed"
    got = {_normalized(m): sorted(_normalized(r) for r in m["replies"]) for m in restored["messages"]}
    want = {_normalized(m): sorted(_normalized(r) for r in m["replies"]) for m in original["messages"]}
    assert got == want  # authors, times, bodies, mentions, files, images; replies under their roots
    assert any(m["hosted"] for m in restored["messages"]), "the inline image was imported"
    assert not any(m["reactions"] for m in restored["messages"]), "reactions cannot be imported (README)"
    actions = [m["action"] for m in state["migrations"] if m["channel"] == restored["id"]]
    assert actions == ["created in migration mode", "completeMigration"]


def test_a_rerun_of_the_restore_imports_nothing_twice(world: World):
    before = _channel(_team(world.control.state()), "Restored General")
    report = _restore_first_point(world)
    assert report.restored == 0 and report.failed == 0 and report.skipped > 0, report.to_dict()
    after = _channel(_team(world.control.state()), "Restored General")
    assert [m["id"] for m in after["messages"]] == [m["id"] for m in before["messages"]]
    assert sum(len(m["replies"]) for m in after["messages"]) == sum(len(m["replies"]) for m in before["messages"])
    actions = [m["action"] for m in world.control.state()["migrations"] if m["channel"] == after["id"]]
    assert "startMigration" not in actions, "nothing to import: no migration session is opened"


def test_a_restore_into_the_original_channel_skips_what_is_there_and_brings_back_a_deleted_text(world: World):
    general = _channel(world.team, "General")
    deleted = message_key(general["id"], world.changes["deleted"])
    present = message_key(general["id"], world.changes["root0"])
    request = RestoreRequest(
        resource=world.resource, run_id=world.runs[1], item_ids=(present, deleted), category=CHANNEL_MESSAGE
    )
    report = restore(world.tenant.services, request)
    assert report.skipped == 1 and report.failed == 1 and "deleted" in report.failures[0]["error"], report.to_dict()
    refused = RestoreRequest(
        resource=world.resource, run_id=world.runs[1], item_ids=(present,), conflict="fail", category=CHANNEL_MESSAGE
    )
    assert restore(world.tenant.services, refused).failed == 1


def test_a_thread_or_a_lone_reply_restores_with_its_root_into_a_new_channel(world: World):
    general = _channel(world.team, "General")
    root = general["messages"][0]
    thread = RestoreRequest(
        resource=world.resource,
        run_id=world.runs[0],
        folder=f"General/{root['id']}",
        destination="new-folder",
        destination_name="Thread copy",
        category=CHANNEL_MESSAGE,
    )
    report = restore(world.tenant.services, thread)
    assert (report.restored, report.failed) == (1 + len(root["replies"]), 0), report.to_dict()
    reply = root["replies"][-1]
    lone = RestoreRequest(
        resource=world.resource,
        run_id=world.runs[0],
        item_ids=(message_key(general["id"], reply["id"], root["id"]),),
        destination="new-folder",
        destination_name="Reply copy",
        category=CHANNEL_MESSAGE,
    )
    assert restore(world.tenant.services, lone).restored == 2  # the reply and the root it needs
    channels = _team(world.control.state())["channels"]
    copy = next(c for c in channels if c["displayName"] == "Thread copy")
    assert [_normalized(m) for m in copy["messages"]] == [_normalized(root)]
    assert sorted(_normalized(r) for r in copy["messages"][0]["replies"]) == sorted(
        _normalized(r) for r in root["replies"]
    )
    alone = next(c for c in channels if c["displayName"] == "Reply copy")
    assert [[_normalized(r) for r in m["replies"]] for m in alone["messages"]] == [[_normalized(reply)]]


class _Transcript(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.messages: list[int] = []  # depth in .replies of each message
        self.images: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "div":
            self.stack.append(values.get("class") or "")
            if values.get("class") == "message":
                self.messages.append(self.stack.count("replies"))
        if tag == "img":
            self.images.append(values.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self.stack:
            self.stack.pop()


def test_the_export_is_a_self_contained_html_transcript_and_json(world: World):
    services = world.tenant.services
    export = open_zip(services, world.resource, run_id=world.runs[0], category=CHANNEL_MESSAGE)
    out = io.BytesIO()
    counts = export.write_to(out)
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert sorted(archive.namelist()) == [
        "Design/messages.json",
        "Design/transcript.html",
        "General/messages.json",
        "General/transcript.html",
        "manifest.json",
    ]
    assert counts["items"] == 4 and counts["failed"] == 0
    general = _channel(world.team, "General")
    parser = _Transcript()
    parser.feed(archive.read("General/transcript.html").decode("utf-8"))
    replies = sum(len(m["replies"]) for m in general["messages"])
    assert parser.messages.count(0) == len(general["messages"]) and parser.messages.count(1) == replies
    assert parser.scripts == 0 and all(src.startswith("data:image/png;base64,") for src in parser.images)
    originals = sorted(
        base64.b64decode(v) for m in general["messages"] for x in (m, *m["replies"]) for v in x["hosted"].values()
    )
    assert sorted(base64.b64decode(src.split(",", 1)[1]) for src in parser.images) == originals
    document = json.loads(archive.read("General/messages.json"))
    assert [m["id"] for m in document] == [m["id"] for m in general["messages"]]
    assert [[r["id"] for r in m["replies"]] for m in document] == [
        [r["id"] for r in m["replies"]] for m in general["messages"]
    ]
    key = message_key(general["id"], general["messages"][0]["id"])
    download = open_download(services, world.resource, key, run_id=world.runs[0], category=CHANNEL_MESSAGE)
    assert download.filename.endswith(".json") and download.media_type == "application/json"
    assert json.loads(b"".join(download.chunks))["id"] == general["messages"][0]["id"]


def test_a_message_whose_image_fails_is_held_and_captured_by_id_at_the_next_run(world: World):
    tenant, general = world.tenant, _channel(world.team, "General")
    users = [u["id"] for u in tenant.mailboxes()]
    posted = world.control.post(world.team["id"], general["id"], users[0], "An image that fails once", image=True)
    key = message_key(general["id"], posted["id"])
    tenant.sim.control.set_faults({"kind": "not_found", "endpoint": "hosted_content_value", "count": 1})
    third = tenant.backup()
    assert third["status"] == "partial", third
    held = [h.item_id for h in tenant.services.quarantine.held(world.resource)]
    assert held == [key]
    assert key not in {
        v.item_id for v in tenant.services.catalog.as_of(world.resource, CHANNEL_MESSAGE, third["run_id"])
    }
    fourth = tenant.backup()
    assert fourth["status"] == "succeeded", fourth
    assert tenant.services.quarantine.held(world.resource) == []
    version = next(
        v for v in tenant.services.catalog.as_of(world.resource, CHANNEL_MESSAGE, fourth["run_id"]) if v.item_id == key
    )
    (hosted,) = json.loads(version.extra)["hosted"]
    assert tenant.services.content.read(hosted["sha256"]) == base64.b64decode(posted["hosted"][hosted["id"]])


def test_a_transcript_body_keeps_formatting_and_drops_what_could_run_or_fetch():
    message = {
        "body": {
            "contentType": "html",
            "content": (
                '<p onclick="x()">Hi <b>all</b><script>alert(1)</script><a href="javascript:evil()">x</a>'
                '<a href="https://contoso.sharepoint.com/f">file</a><img src="https://evil.example/t.png">'
                '<img src="https://graph/v1.0/teams/t/channels/c/messages/1/hostedContents/h1/$value"><style>p{}</style></p>'
            ),
        }
    }
    out = safe_body(message, {"h1": "data:image/png;base64,AAAA"})
    assert out == (
        '<p>Hi <b>all</b><a>x</a><a href="https://contoso.sharepoint.com/f" rel="noreferrer">file</a>'
        '[image]<img src="data:image/png;base64,AAAA" alt="image"></p>'
    )
