"""Teams chats end to end against the simulator: a full backup of a user's one-on-one, group and meeting chats
(messages, inline images, members), an incremental after a new message, an edit, a reaction and a soft delete (a
new version each, read through the watermark listing), points in time, a chat shared by two users stored once, a
purge caught by a full listing, a restore into a group chat through migration mode equal to the original and never
twice, the HTML transcript and JSON left in the user's OneDrive where migration is not possible (a meeting chat, a
message deleted since, a new-folder restore: uploaded once, another selection beside it, a user without a OneDrive
told so), the transcript and JSON export parsed back, and self-service access to one's own chats only."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest

from api.access import can_read, owns
from api.auth import Principal
from core.exports.downloads import open_download, open_zip
from core.restore import restore
from core.restore_request import RestoreRequest
from core.storage.delta_state import DeltaState
from core.workloads.chats.chat_backup import WATERMARK
from core.workloads.chats.chat_messages import CHAT, CHAT_MESSAGE
from core.workloads.chats.workload import CHATS
from graphsim.chats.control_client import ChatsControl
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant


@dataclass
class World:
    tenant: Tenant
    control: ChatsControl
    owner: str  # a user in every seeded chat
    other: str  # the other member of its one-on-one chat
    chats: dict[str, dict]  # chatType -> the chat as the simulator had it at the first run
    runs: tuple[str, str]
    changes: dict[str, str]  # what was changed: message ids

    @property
    def resource(self) -> str:
        return f"{CHATS.name}:{self.owner}"

    def key(self, chat_type: str, message_id: str) -> str:
        return f"{self.chats[chat_type]['id']}/{message_id}"


@pytest.fixture(scope="module")
def world(tmp_path_factory, azurite) -> Iterator[World]:
    t = open_tenant(tmp_path_factory.mktemp("chats") / "sim", isolated_storage(azurite),
                    {"BACKUP_WORKLOADS": CHATS.name}, users=2, messages=1, seed=37, contacts=0, events=0,
                    drive_files=1, sites=1, channel_messages=1, chat_users=1)  # fmt: skip
    control = ChatsControl(t.sim.base_url, t.sim.ca_file)
    try:
        first = t.backup()
        assert first["status"] == "succeeded", first
        chats = {c["chatType"]: c for c in control.state()["chats"]}
        owner, other = sorted(chats["oneOnOne"]["members"])
        one, group, meeting = chats["oneOnOne"], chats["group"], chats["meeting"]
        new = control.post(one["id"], other, "A new message after the first backup", image=True)
        control.edit(group["id"], group["messages"][1]["id"], "Edited text of the group's second note")
        control.react(meeting["id"], meeting["messages"][0]["id"], other, "laugh")
        control.delete(one["id"], one["messages"][1]["id"])
        second = t.backup()
        assert second["status"] == "succeeded", second
        changes = {
            "new": new["id"],
            "edited": group["messages"][1]["id"],
            "reacted": meeting["messages"][0]["id"],
            "deleted": one["messages"][1]["id"],
        }
        yield World(t, control, owner, other, chats, (first["run_id"], second["run_id"]), changes)
    finally:
        control.close()
        t.close()


def _catalog(world: World, run: int, resource: str | None = None) -> dict:
    versions = world.tenant.services.catalog.as_of(resource or world.resource, CHAT_MESSAGE, world.runs[run])
    return {v.item_id: v for v in versions}


def _content(world: World, version) -> dict:
    return json.loads(world.tenant.services.content.read(version.content_hash))


def test_the_full_backup_holds_every_chat_message_image_and_member(world: World):
    catalog = _catalog(world, 0)
    expected = {world.key(t, m["id"]) for t, c in world.chats.items() for m in c["messages"]}
    assert set(catalog) == expected and len(expected) == 7  # 3 one-on-one, 2 group, 2 meeting
    chats = {v.item_id: v for v in world.tenant.services.catalog.as_of(world.resource, CHAT, world.runs[0])}
    for chat_type, chat in world.chats.items():
        extra = json.loads(chats[chat["id"]].extra)
        assert extra["chatType"] == chat_type and extra["createdDateTime"] == chat["createdDateTime"]
        assert sorted(m["userId"] for m in extra["members"]) == sorted(chat["members"])
    assert json.loads(chats[world.chats["meeting"]["id"]].extra)["onlineMeetingInfo"]["joinWebUrl"]
    first = world.chats["oneOnOne"]["messages"][0]
    version = catalog[world.key("oneOnOne", first["id"])]
    stored = _content(world, version)
    assert stored["body"] == first["body"] and stored["reactions"] == first["reactions"]
    hosted = json.loads(version.extra)["hosted"]
    assert [world.tenant.services.content.read(h["sha256"]) for h in hosted] == [
        base64.b64decode(v) for v in first["hosted"].values()
    ]
    assert set(CHATS.category(CHAT_MESSAGE).content_refs(version)) == {version.content_hash, hosted[0]["sha256"]}


def test_the_incremental_keeps_a_new_message_an_edit_a_reaction_and_a_soft_delete_as_versions(world: World):
    before, after = _catalog(world, 0), _catalog(world, 1)
    new = world.key("oneOnOne", world.changes["new"])
    assert new not in before and new in after and json.loads(after[new].extra)["hosted"]
    edited = world.key("group", world.changes["edited"])
    assert "Edited text" in _content(world, after[edited])["body"]["content"]
    assert "Edited text" not in _content(world, before[edited])["body"]["content"]
    reacted = world.key("meeting", world.changes["reacted"])
    assert [r["reactionType"] for r in _content(world, after[reacted])["reactions"]] == ["like", "laugh"]
    deleted = world.key("oneOnOne", world.changes["deleted"])
    assert _content(world, after[deleted])["deletedDateTime"] and after[deleted].name == "(deleted message)"
    assert not _content(world, before[deleted])["deletedDateTime"] and "Chat note 2" in before[deleted].name
    unchanged = world.key("group", world.chats["group"]["messages"][0]["id"])
    assert after[unchanged].first_seen_run == world.runs[0]  # listed again, not a new version
    states = world.tenant.services.delta_state.load(world.resource)
    chat_states = [s for (category, _id), s in states.items() if category == CHAT_MESSAGE]
    assert len(chat_states) == 3 and all(s.delta_link.startswith(WATERMARK) for s in chat_states)
    assert all(s.run_id == world.runs[1] and json.loads(s.query)["full"] for s in chat_states)


def test_a_chat_shared_by_two_users_is_backed_up_under_each_and_stored_once(world: World):
    mine, theirs = _catalog(world, 1), _catalog(world, 1, f"{CHATS.name}:{world.other}")
    shared = [k for k in mine if k.startswith(world.chats["group"]["id"])]
    assert shared and all(theirs[k].content_hash == mine[k].content_hash for k in shared)


def test_a_download_is_the_message_json_as_of_the_point(world: World):
    key = world.key("oneOnOne", world.changes["deleted"])
    for run in (0, 1):
        download = open_download(world.tenant.services, world.resource, key, run_id=world.runs[run],
                                 category=CHAT_MESSAGE)  # fmt: skip
        message = json.loads(b"".join(download.chunks))
        assert download.filename.endswith(".json") and message["id"] == world.changes["deleted"]
        assert bool(message["deletedDateTime"]) is (run == 1)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_export_is_a_self_contained_transcript_and_json_per_chat(world: World):
    out = io.BytesIO()
    counts = open_zip(world.tenant.services, world.resource, run_id=world.runs[1], category=CHAT_MESSAGE).write_to(out)
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert counts["messages"] == 8 and counts["failed"] == 0
    transcripts = sorted(n for n in archive.namelist() if n.endswith("transcript.html"))
    assert len(transcripts) == 3 and len(archive.namelist()) == 7  # 3 chats x (html, json) + manifest
    one_dir = next(n.rsplit("/", 1)[0] for n in transcripts if n.startswith("Chat with"))
    page = _Page()
    page.feed(archive.read(f"{one_dir}/transcript.html").decode())
    assert "script" not in page.tags and page.images
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    text = " ".join(page.text)
    assert "A new message after the first backup" in text and "This message was deleted" in text
    document = json.loads(archive.read(f"{one_dir}/messages.json"))
    assert [m["id"] for m in document] == sorted((m["id"] for m in document), key=int)
    assert {world.changes["new"], world.changes["deleted"]} <= {m["id"] for m in document}


def _messages(world: World, chat_type: str) -> list[dict]:
    chat = next(c for c in world.control.state()["chats"] if c["chatType"] == chat_type)
    return chat["messages"]


def _restore(world: World, chat_type: str, message_id: str, conflict: str = "skip") -> dict:
    request = RestoreRequest(resource=world.resource, run_id=world.runs[0], conflict=conflict, category=CHAT_MESSAGE,
                             item_ids=(world.key(chat_type, message_id),))  # fmt: skip
    return restore(world.tenant.services, request).to_dict()


def test_a_purged_group_message_is_ended_by_a_full_listing_and_restored_by_migration_once(world: World):
    original = world.chats["group"]["messages"][0]
    world.control.purge(world.chats["group"]["id"], original["id"])
    key = world.key("group", original["id"])
    services = world.tenant.services
    third = world.tenant.backup()
    assert third["status"] == "succeeded" and key in {v.item_id for v in services.catalog.as_of(
        world.resource, CHAT_MESSAGE, third["run_id"])}  # fmt: skip  # a watermark listing cannot see a purge
    state = services.delta_state.load(world.resource)[(CHAT_MESSAGE, world.chats["group"]["id"])]
    services.delta_state.save(world.resource, DeltaState(state.category, state.container_id, WATERMARK,
                                                         state.container_path, state.run_id))  # fmt: skip
    fourth = world.tenant.backup()  # no usable watermark: a full listing, and the unseen message read by id
    assert key not in {v.item_id for v in services.catalog.as_of(world.resource, CHAT_MESSAGE, fourth["run_id"])}

    report = _restore(world, "group", original["id"])
    assert report["restored"] == 1 and report["failed"] == 0, report
    made = next(m for m in _messages(world, "group") if m["id"] == report["items"][0]["new_id"])
    assert made["createdDateTime"] == original["createdDateTime"] and made["from"] == original["from"]
    assert made["mentions"] == original["mentions"]
    assert list(made["hosted"].values()) == list(original["hosted"].values())  # the inline image, byte for byte
    assert made["body"]["content"].split("<img")[0] == original["body"]["content"].split("<img")[0]
    calls = [c["action"] for c in world.control.state()["migrations"] if c["chat"] == world.chats["group"]["id"]]
    assert calls == ["startMigration", "completeMigration"]

    again = _restore(world, "group", original["id"])  # a rerun imports nothing twice
    assert again["skipped"] == 1 and again["restored"] == 0
    assert len(_messages(world, "group")) == len(world.chats["group"]["messages"])
    assert _restore(world, "group", original["id"], conflict="fail")["failed"] == 1


def _onedrive(world: World, user: str) -> dict:
    drives = world.tenant.sim.control.drives_state()["drives"]
    return next(d for d in drives if d["owner_kind"] == "user" and d["owner_id"] == user)


def _restored_chats(world: World, user: str) -> dict[str, dict]:
    """path -> item of everything under the user's 'Restored chats' folder."""
    return {i["path"]: i for i in _onedrive(world, user)["items"] if i["path"].startswith("/Restored chats")}


def _transcript(world: World, user: str, item_id: str) -> tuple[str, list[dict]]:
    """The text of an uploaded transcript (parsed as HTML, nothing scripted) and its messages.json beside it."""
    drive = _onedrive(world, user)
    item = next(i for i in drive["items"] if i["id"] == item_id)
    control = world.tenant.sim.control
    page = _Page()
    page.feed(control.drive_item_content(drive["id"], item_id).decode())
    assert "script" not in page.tags and item["name"].endswith(".html")
    json_item = next(i for i in drive["items"] if i["path"] == item["path"][: -len(".html")] + ".json")
    return " ".join(page.text), json.loads(control.drive_item_content(drive["id"], json_item["id"]))


def _text(message: dict) -> str:
    return message["body"]["content"].split("<")[1].split(">", 1)[1]  # the first paragraph's text


def _author(message: dict) -> str:
    return message["from"]["user"]["displayName"]


def test_where_migration_is_not_possible_the_transcript_lands_in_the_users_onedrive(world: World):
    meeting = world.chats["meeting"]["messages"][1]
    world.control.purge(world.chats["meeting"]["id"], meeting["id"])
    report = _restore(world, "meeting", meeting["id"])  # meeting chats cannot enter migration mode
    assert report["restored"] == 1 and report["items"][0]["status"] == "exported", report
    assert report["destination"] == f"Restored chats/As of run {world.runs[0]}"
    uploaded = _restored_chats(world, world.owner)
    name = f"/Restored chats/As of run {world.runs[0]}/Weekly sync 37"
    assert uploaded[name + ".html"]["id"] == report["items"][0]["new_id"] and name + ".json" in uploaded
    text, document = _transcript(world, world.owner, report["items"][0]["new_id"])
    assert _text(meeting) in text and _author(meeting) in text
    assert [m["id"] for m in document] == [meeting["id"]]  # exactly the selected message, as of the run
    assert all(c["chat"] != world.chats["meeting"]["id"] for c in world.control.state()["migrations"])
    assert meeting["id"] not in {m["id"] for m in _messages(world, "meeting")}

    original = world.chats["oneOnOne"]["messages"][1]  # soft-deleted in the chat since: its place is taken by itself
    deleted = _restore(world, "oneOnOne", world.changes["deleted"])
    assert deleted["restored"] == 1 and deleted["items"][0]["status"] == "exported", deleted
    text, document = _transcript(world, world.owner, deleted["items"][0]["new_id"])
    assert _text(original) in text and "This message was deleted" not in text and document[0]["id"] == original["id"]
    present = _restore(world, "oneOnOne", world.chats["oneOnOne"]["messages"][0]["id"])
    assert present["skipped"] == 1


def test_a_new_folder_restore_leaves_the_chats_transcript_once(world: World):
    group = world.chats["group"]
    path = _catalog(world, 0)[world.key("group", group["messages"][1]["id"])].folder_path

    def again(conflict: str = "skip", only: tuple[str, ...] = ()) -> dict:
        scope = {"item_ids": only} if only else {"folder": path}
        request = RestoreRequest(resource=world.resource, run_id=world.runs[0], conflict=conflict, **scope,
                                 destination="new-folder", destination_name="Chats back",
                                 category=CHAT_MESSAGE)  # fmt: skip
        return restore(world.tenant.services, request).to_dict()

    report = again()
    assert report["restored"] == 2 and report["failed"] == 0 and report["destination"] == "Restored chats/Chats back"
    assert {i["status"] for i in report["items"]} == {"exported"} and len({i["new_id"] for i in report["items"]}) == 1
    text, document = _transcript(world, world.owner, report["items"][0]["new_id"])
    for message in group["messages"]:  # as of the first run: the edit came later
        assert _text(message) in text and _author(message) in text
    assert "Edited text" not in text and [m["id"] for m in document] == [m["id"] for m in group["messages"]]
    assert "/Restored chats/Chats back/Budget.html" in _restored_chats(world, world.owner)
    before = len(_onedrive(world, world.owner)["items"])
    rerun = again()  # the same files are found: nothing uploaded twice
    assert rerun["skipped"] == 2 and rerun["restored"] == 0, rerun
    assert {i["new_id"] for i in rerun["items"]} == {report["items"][0]["new_id"]}
    assert again("fail")["failed"] == 2 and len(_onedrive(world, world.owner)["items"]) == before
    first = _restored_chats(world, world.owner)["/Restored chats/Chats back/Budget.html"]
    one = again(only=(world.key("group", group["messages"][0]["id"]),))  # another selection: beside, not over
    assert one["restored"] == 1 and one["items"][0]["transcript"] == "Restored chats/Chats back/Budget (2).html"
    assert _restored_chats(world, world.owner)["/Restored chats/Chats back/Budget.html"] == first
    assert len(_onedrive(world, world.owner)["items"]) == before + 2


def test_a_user_without_a_onedrive_gets_a_one_line_failure(world: World):
    world.tenant.sim.control.remove_drive(_onedrive(world, world.other)["id"])
    request = RestoreRequest(resource=world.resource, run_id=world.runs[0], conflict="skip", category=CHAT_MESSAGE,
                             item_ids=(world.key("meeting", world.chats["meeting"]["messages"][0]["id"]),),
                             destination="new-folder", target_owner=world.other)  # fmt: skip
    report = restore(world.tenant.services, request).to_dict()
    assert report["failed"] == 1 and report["restored"] == 0 and not report["items"], report
    error = report["failures"][0]["error"]
    assert "\n" not in error and f"user {world.other} has no OneDrive" in error
    assert f"python -m core export {world.resource} --zip --category chatmessage --folder" in error


def test_a_target_given_as_a_chats_resource_key_is_that_user(world: World):
    """`--to-user chats:<id>` (a direct restore, as the CLI runs it) restores into user <id>, as a job's parts do."""
    request = RestoreRequest(resource=world.resource, run_id=world.runs[0], conflict="skip", category=CHAT_MESSAGE,
                             item_ids=(world.key("meeting", world.chats["meeting"]["messages"][0]["id"]),),
                             destination="new-folder", target_owner=f"{CHATS.name}:{world.other}")  # fmt: skip
    report = restore(world.tenant.services, request).to_dict()
    assert report["target_owner"] == world.other, report
    assert report["failed"] == 1 and f"user {world.other} has no OneDrive" in report["failures"][0]["error"]


def test_a_user_sees_their_own_chats_and_not_another_users():
    def principal(oid: str) -> Principal:
        return Principal(oid=oid, name=f"{oid}@contoso.example", roles=frozenset(), tenant="t", app_only=False)

    mine, theirs = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    assert owns(principal(mine), f"{CHATS.name}:{mine}") and can_read(principal(mine), f"{CHATS.name}:{mine}")
    assert not owns(principal(theirs), f"{CHATS.name}:{mine}")
    assert not can_read(principal(theirs), f"{CHATS.name}:{mine}")
