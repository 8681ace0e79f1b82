"""`make demo`, the workloads beyond mail and files: after the full backup, one item (or thread) of each is restored
through the CLI as of that backup, into a new container, and checked against its original as the simulated Graph
reports it: a shared mailbox's message, a To Do task, a SharePoint list item, a Teams thread, a group's post
(into its owner's mailbox: nobody notified), a chat message, and a message of an in-place archive (into the primary
mailbox, then into the archive itself through the mailbox import API). Each step prints what it checked; the returned
lines go into the demo's report."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from contextlib import closing
from typing import Any

from graphsim.archive.control_client import ArchiveControl
from graphsim.chats.control_client import ChatsControl
from graphsim.groups.control_client import GroupsControl
from graphsim.lists.control_client import ListControl
from graphsim.process import SimulatorProcess
from graphsim.teams.control_client import TeamsControl
from graphsim.todo.control_client import TodoControl

Cli = Callable[..., Any]
Check = Callable[[bool, str], None]
Step = Callable[[str], None]

TASK_FIELDS = ("title", "body", "importance", "status", "dueDateTime", "recurrence", "categories")
IMAGE = re.compile(r"""src="[^"]*/hostedContents/[^/"]+/\$value\"""")  # a restored image has a new address


def originals(sim: SimulatorProcess) -> dict[str, Any]:
    """What the tenant holds of each workload before the demo changes anything (read after the full backup)."""
    users = sim.control.mailbox_users()
    alice = next(u for u in users if u["purpose"] == "user")["id"]
    with closing(TodoControl(sim.base_url, sim.ca_file)) as todo, closing(ListControl(sim.base_url, sim.ca_file)) \
            as lists, closing(TeamsControl(sim.base_url, sim.ca_file)) as teams:  # fmt: skip
        return {
            "shared": next(u for u in users if u["purpose"] == "shared"),
            "alice": alice,
            "tasks": todo.state(alice)["tasks"],
            "all_tasks": sum(len(todo.state(u["id"])["tasks"]) for u in users),
            "lists": lists.state(),
            "teams": teams.state(),
            "groups": _state(GroupsControl, sim),
            "chats": _state(ChatsControl, sim),
            "archives": _archives(sim, [u["id"] for u in users if u["purpose"] == "user"]),
        }


def _archives(sim: SimulatorProcess, users: list[str]) -> dict[str, Any]:
    with closing(ArchiveControl(sim.base_url, sim.ca_file)) as archives:
        return {user: archives.state(user) for user in users}


def _state(control: Any, sim: SimulatorProcess) -> dict[str, Any]:
    with closing(control(sim.base_url, sim.ca_file)) as client:
        return client.state()


def counts(before: dict[str, Any]) -> dict[str, int]:
    """Items of each new category the full backup must hold."""
    lists = [x for site in before["lists"].values() for x in site if _backed_up(x)]
    messages = [m for g in before["teams"]["groups"] for c in g.get("channels", []) for m in c["messages"]]
    groups = before["groups"]["groups"]
    return {
        "tasks": before["all_tasks"],
        "list items": sum(len(x["items"]) for x in lists),
        "channel messages": sum(1 + len(m["replies"]) for m in messages),
        # every post, and each group's membership snapshot
        "group posts and memberships": sum(len(t["posts"]) for g in groups for t in g["threads"]) + len(groups),
        # a chat is backed up under each of its members (its content stored once)
        "chat messages": sum(len(c["messages"]) * len(c["members"]) for c in before["chats"]["chats"]),
        "archived messages": sum(len(a["messages"]) for a in before["archives"].values()),
    }


def _backed_up(sp_list: dict[str, Any]) -> bool:
    return not sp_list.get("hidden") and not sp_list.get("system") and not sp_list["template"].endswith("Library")


def run(sim: SimulatorProcess, cli: Cli, check: Check, step: Step, first_run: str, before: dict[str, Any]) -> list[str]:
    return [
        _shared_mailbox(sim, cli, check, step, first_run, before),
        _task(sim, cli, check, step, first_run, before),
        _list_item(sim, cli, check, step, first_run, before),
        _thread(sim, cli, check, step, first_run, before),
        _group_post(sim, cli, check, step, first_run, before),
        _chat(sim, cli, check, step, first_run, before),
        _archived(sim, cli, check, step, first_run, before),
    ]


def _archived(sim: SimulatorProcess, cli: Cli, check: Check, step: Step, first_run: str,
              before: dict[str, Any]) -> str:  # fmt: skip
    alice, archive = before["alice"], before["archives"][before["alice"]]
    message = next(m for m in archive["messages"] if m["mailbox_id"] == archive["auxiliary_id"])
    step(f"An in-place archive's message ({message['folder_path']}, held by an auxiliary archive): deleted, "
         "restored as of the full backup")  # fmt: skip
    with closing(ArchiveControl(sim.base_url, sim.ca_file)) as archives:
        archives.delete_message(alice, message["id"])
    done = cli("restore", f"exchange:{alice}", "--run", first_run, "--category", "archive", "--item", message["id"])
    state = next(u for u in sim.control.state()["users"] if u["id"] == alice)
    landed = [(m["folder_path"], m["internetMessageId"], m["subject"], m["isDraft"]) for m in state["messages"]
              if m["internetMessageId"] == message["internetMessageId"]]  # fmt: skip
    where = f"/Restored from archive{message['folder_path']}"
    check(done["restored"] == 1 and landed == [(where, message["internetMessageId"], message["subject"], False)],
          f"it is back, in the primary mailbox's {where!r}, the same message, not a draft")  # fmt: skip
    step("The same message restored into the archive itself (its export stream, kept by the backup, imported "
         "through the mailbox import API), then once more")  # fmt: skip
    into = cli("restore", f"exchange:{alice}", "--run", first_run, "--category", "archive", "--item", message["id"],
               "--destination", "into-archive")  # fmt: skip
    again = cli("restore", f"exchange:{alice}", "--run", first_run, "--category", "archive", "--item", message["id"],
                "--destination", "into-archive")  # fmt: skip
    with closing(ArchiveControl(sim.base_url, sim.ca_file)) as archives:
        back = [
            (m["folder_path"], m["mailbox_id"], m["subject"], m["isDraft"], m["isRead"], m["sha256"])
            for m in archives.state(alice)["messages"]
            if m["internetMessageId"] == message["internetMessageId"]
        ]
    same = (message["folder_path"], archive["auxiliary_id"], message["subject"], False, message["isRead"],
            message["sha256"])  # fmt: skip
    check(into["restored"] == 1 and into["items"][0]["into"] == "archive" and back == [same],
          f"it is back in the archive's {message['folder_path']!r} (the auxiliary archive, after the import's 409): "
          "the same MIME, read state, not a draft")  # fmt: skip
    check(again["restored"] == 0 and again["skipped"] == 1, "a second restore into the archive finds it: not twice")
    return (
        f"in-place archive: 1 message (from an auxiliary archive) restored into the primary's {where!r}, and "
        f"into the archive itself ({message['folder_path']!r}, once)"
    )


def _shared_mailbox(sim: SimulatorProcess, cli: Cli, check: Check, step: Step, first_run: str,
                    before: dict[str, Any]) -> str:  # fmt: skip
    shared = before["shared"]
    step(f"A shared mailbox ({shared['displayName']}): backed up like any mailbox, shown as shared")
    points = cli("points", f"exchange:{shared['id']}")
    check(points[-1]["kind"] == "shared", "its restore points say kind 'shared' (mailboxSettings.userPurpose)")
    message = sorted(shared["messages"], key=lambda m: m["id"])[0]
    done = cli("restore", f"exchange:{shared['id']}", "--run", first_run, "--item", message["id"],
               "--destination", "new-folder")  # fmt: skip
    state = next(u for u in sim.control.state()["users"] if u["id"] == shared["id"])
    landed = [m for m in state["messages"] if m["folder_path"].startswith(f"/{done['destination']}/")]
    same = [(m["internetMessageId"], m["subject"], m["isDraft"]) for m in landed]
    check(done["restored"] == 1 and same == [(message["internetMessageId"], message["subject"], False)],
          f"one of its messages restored into {done['destination']!r}, the same message, not a draft")  # fmt: skip
    return f"shared mailbox: shown as shared, 1 message restored into {done['destination']!r}"


def _task(sim: SimulatorProcess, cli: Cli, check: Check, step: Step, first_run: str, before: dict[str, Any]) -> str:
    alice = before["alice"]
    task = next(t for t in before["tasks"] if t["checklistItems"])
    step(f"A To Do task ({task['task']['title']!r}) restored into a new task list")
    done = cli("restore", f"exchange:{alice}", "--run", first_run, "--item", task["id"], "--category", "task",
               "--destination", "new-folder")  # fmt: skip
    with closing(TodoControl(sim.base_url, sim.ca_file)) as todo:
        state = todo.state(alice)
    made = next(x["id"] for x in state["lists"] if x["displayName"] == done["destination"])
    back = [t for t in state["tasks"] if t["list_id"] == made]

    def seen(t: dict[str, Any]) -> Any:
        return ({k: t["task"].get(k) for k in TASK_FIELDS}, [(c["displayName"], c["isChecked"]) for c in
                t["checklistItems"]], sorted(a["sha256"] for a in t["attachments"]))  # fmt: skip

    check(done["restored"] == 1 and [seen(t) for t in back] == [seen(task)],
          f"in {done['destination']!r}, equal to the original: properties, checklist, attachments")  # fmt: skip
    return f"To Do: 1 task restored into {done['destination']!r} with its checklist"


def _list_item(sim: SimulatorProcess, cli: Cli, check: Check, step: Step, first_run: str,
               before: dict[str, Any]) -> str:  # fmt: skip
    site, sp_list = next((s, x) for s, lists in before["lists"].items() for x in lists if _backed_up(x) and x["items"])
    item = sorted(sp_list["items"], key=lambda i: int(i["id"]))[0]
    step(f"A SharePoint list item ({sp_list['displayName']} #{item['id']}) restored into a new list of the same schema")
    done = cli("restore", f"sharepoint:{site}", "--run", first_run, "--item", f"{sp_list['id']}:{item['id']}",
               "--category", "listitem", "--destination", "new-folder")  # fmt: skip
    with closing(ListControl(sim.base_url, sim.ca_file)) as lists:
        made = lists.lists()[done["destination"]]
    writable = [c["name"] for c in sp_list["columns"] if not c.get("readOnly") and c["name"] in item["fields"]]
    same = [all(i["fields"].get(n) == item["fields"].get(n) for n in writable) for i in made["items"]]
    columns = {c["name"] for c in made["columns"]} >= {c["name"] for c in sp_list["columns"]}
    what = f"in {done['destination']!r}: every column of the schema, the item's {len(writable)} writable fields"
    check(done["restored"] == 1 and same == [True] and columns, what)
    return f"SharePoint list: 1 item restored into the new list {done['destination']!r}"


def _thread(sim: SimulatorProcess, cli: Cli, check: Check, step: Step, first_run: str, before: dict[str, Any]) -> str:
    team = next(g for g in before["teams"]["groups"] if "Team" in g["resourceProvisioningOptions"])
    general = next(c for c in team["channels"] if c["displayName"] == "General")
    root = next(m for m in general["messages"] if m["replies"])
    step(f"A Teams thread ({len(root['replies'])} replies) restored into a new channel through migration mode")
    done = cli("restore", f"teams:{team['id']}", "--run", first_run, "--folder", f"General/{root['id']}",
               "--category", "channelmessage", "--destination", "new-folder")  # fmt: skip
    with closing(TeamsControl(sim.base_url, sim.ca_file)) as teams:
        now = next(g for g in teams.state()["groups"] if g["id"] == team["id"])
    made = next(c for c in now["channels"] if c["displayName"] == done["destination"])

    def seen(m: dict[str, Any]) -> Any:
        return (m["createdDateTime"], m["from"]["user"]["id"], IMAGE.sub("", m["body"]["content"]),
                sorted(seen(r) for r in m.get("replies", [])))  # fmt: skip

    check(done["restored"] == 1 + len(root["replies"]) and [seen(m) for m in made["messages"]] == [seen(root)],
          "its root and replies with their original authors and times, replies under the root")  # fmt: skip
    return f"Teams: a thread of {1 + len(root['replies'])} messages restored into {done['destination']!r}"


def _group_post(sim: SimulatorProcess, cli: Cli, check: Check, step: Step, first_run: str,
                before: dict[str, Any]) -> str:  # fmt: skip
    group = next(g for g in before["groups"]["groups"] if g["threads"])
    thread = group["threads"][0]
    post = thread["posts"][0]
    owner = group["owners"][0]
    step(f"A post of the group {group['displayName']!r} restored into its owner's mailbox (nobody notified)")
    done = cli("restore", f"groups:{group['id']}", "--run", first_run, "--item", f"{thread['id']}/{post['id']}",
               "--category", "grouppost", "--destination", "new-folder")  # fmt: skip
    state = next(u for u in sim.control.state()["users"] if u["id"] == owner)
    folder = done["destination"].split(": ", 1)[-1]  # '<owner>: <folder>'
    landed = [m for m in state["messages"] if m["folder_path"].startswith(f"/{folder}")]
    after = _state(GroupsControl, sim)
    quiet = len(after["delivered"]) == len(before["groups"]["delivered"])
    check(done["restored"] == 1 and len(landed) == 1 and not landed[0]["isDraft"] and quiet,
          f"a received message (not a draft) in {folder!r} of its owner's mailbox; no copy delivered to "
          "any member")  # fmt: skip
    return f"Groups: 1 post restored into its owner's mailbox folder {folder!r}, nobody notified"


def _chat(sim: SimulatorProcess, cli: Cli, check: Check, step: Step, first_run: str, before: dict[str, Any]) -> str:
    chat = next(c for c in before["chats"]["chats"] if c["chatType"] == "oneOnOne" and c["messages"])
    user = chat["members"][0]
    step("A Teams chat exported as a self-contained HTML transcript")
    out = sim.state_dir / "chat-export.zip"
    done = cli("export", f"chats:{user}", "--run", first_run, "--zip", "--category", "chatmessage", "--out", str(out))
    with zipfile.ZipFile(out) as zipped:
        pages = [zipped.read(n).decode() for n in zipped.namelist() if n.endswith(".html")]
    texts = [t.strip() for m in chat["messages"] if not m.get("deletedDateTime")
             for t in re.split(r"<[^>]+>", m["body"]["content"]) if t.strip()]  # fmt: skip
    what = f"{len(pages)} transcripts ({done.get('items', '?')} files) hold every message of the one-to-one chat"
    check(bool(pages) and all(any(t in page for page in pages) for t in texts), what)
    message = next(m for m in chat["messages"] if not m.get("deletedDateTime"))
    done = cli("restore", f"chats:{user}", "--run", first_run, "--item", f"{chat['id']}/{message['id']}",
               "--category", "chatmessage", "--destination", "new-folder")  # fmt: skip
    left = [i for i in sim.control.drive(user)["items"]
            if i["path"].startswith("/Restored chats/") and i["name"].endswith(".html")]  # fmt: skip
    where = left[0]["path"] if left else "-"
    check(done["restored"] == 1 and len(left) == 1, f"restored into a new folder: a transcript in OneDrive, {where}")
    return f"Teams chats: {len(pages)} transcripts exported, 1 message restored as a transcript into OneDrive"
