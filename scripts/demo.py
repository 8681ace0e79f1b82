"""`make demo`: a real backup and restore against Azurite and the local Graph tenant simulator.

Starts both on free loopback ports, backs up a simulated tenant in full through the real Durable orchestrator
(replayed locally by devenv/durable_local), changes it (add, modify, move, delete),
backs it up incrementally, browses the catalog, restores the deleted message and a folder through the CLI, checks
that each restored message equals its original as Graph reports it (not a draft, dates, state, headers, body,
attachments: devenv.message_fidelity), and ends with a restore through the HTTP restore API (its dashboard URL
printed while it runs). Prints a short report and stops the servers. Exits non-zero if any check fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, NoReturn

import httpx

from core.cli_errors import EXIT_INTERRUPTED, install_interrupts, leave
from core.config import load_settings
from core.graph.auth import TokenProvider
from core.graph.client import GraphClient
from devenv.api_server import ApiServer
from devenv.azurite import start_azurite
from devenv.durable_local import run_orchestration
from devenv.message_fidelity import differences, snapshot
from graphsim.process import SimulatorProcess, start_simulator
from scripts import demo_coverage

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("DEMO_STATE_DIR") or ROOT / ".demo")  # tests give the demo a folder of their own
API_AUDIENCE = "api://m365-backup-demo"
OPERATOR_OID = "00000000-0000-0000-0000-00000000000b"
ADMIN_OID = "00000000-0000-0000-0000-0000000000ad"


class DemoFailure(Exception):
    pass


def check(condition: bool, what: str) -> None:
    print(f"  {'ok ' if condition else 'FAIL'} {what}")
    if not condition:
        raise DemoFailure(what)


def graph_client(sim: SimulatorProcess) -> GraphClient:
    """A Graph client of the demo's own, to look at the tenant as its users would (storage is not used)."""
    settings = load_settings({**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"})
    return GraphClient(settings, TokenProvider(settings))


def step(title: str) -> None:
    print(f"\n== {title}")


def cli(env: dict[str, str], *args: str) -> Any:
    """Run `python -m core ARGS --json` as a user would, and parse its JSON output."""
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    print(f"  $ python -m core {shown}")
    done = subprocess.run(
        [sys.executable, "-m", "core", *args, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 3):
        raise DemoFailure(f"python -m core {shown} exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def messages(sim: SimulatorProcess, user_id: str) -> list[dict]:
    return next(u for u in sim.control.state()["users"] if u["id"] == user_id)["messages"]


def main() -> int:
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    started = time.monotonic()
    step("Starting Azurite and the Graph tenant simulator on loopback")
    with (
        start_azurite() as azurite,
        start_simulator(
            STATE / "graphsim", users=3, messages=40, seed=2026, shared_mailboxes=1, archive_messages=2
        ) as sim,  # every licensed user has an in-place archive of 2 messages, one on an auxiliary archive
    ):
        print(f"  Azurite blob :{azurite.blob_port} table :{azurite.table_port}; Graph simulator {sim.base_url}")
        env = {
            **os.environ,
            **sim.graph_env(),
            "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
            "PYTHONPATH": str(ROOT),
            "BACKUP_BATCH_SIZE": "2",
            "BACKUP_WORKLOADS": "exchange,onedrive,sharepoint,teams,groups,chats",
            "API_AUDIENCE": API_AUDIENCE,
            # content compressed, then encrypted under data keys wrapped by a local key file (Key Vault in Azure)
            "CONTENT_COMPRESSION": "zstd",
            "CONTENT_ENCRYPTION": "local",
            "CONTENT_LOCAL_KEY_FILE": str(STATE / "content-key.json"),
        }
        try:
            report = run(sim, env)
        except DemoFailure as exc:
            print(f"\nDEMO FAILED: {exc}")
            return 1
    step("Report")
    for line in report:
        print(f"  {line}")
    print(f"  demo finished in {time.monotonic() - started:.1f}s; both servers stopped")
    return 0


def run(sim: SimulatorProcess, env: dict[str, str]) -> list[str]:
    control = sim.control
    users = control.mailbox_users()
    total = sum(len(u["messages"]) for u in users)
    contacts = sum(len(u["contacts"]) for u in users)
    events = sum(1 for u in users for e in u["events"] if e["type"] != "occurrence")  # masters stand for those
    drives = control.drives_state()
    files = sum(1 for d in drives["drives"] for i in d["items"] if not i["folder"])

    step(
        f"Full backup of {len(users)} mailboxes ({total} messages), their OneDrives and {len(drives['sites'])} "
        f"SharePoint sites ({files} files, and their lists), a shared mailbox and a team through the Durable "
        "orchestrator"
    )
    print("  (the real backup_orchestrator and activities of blueprints/backup.py, replayed by devenv/durable_local")
    print("   as the Durable host would: batches of BACKUP_BATCH_SIZE=2 mailboxes as sub-orchestrations)")
    os.environ.update(env)  # the activities build core's services from the environment, as in Azure
    durable = run_orchestration("backup_orchestrator", {"trigger": "http"}, retry_delay_scale=0.01)
    first = durable.output
    check(durable.runtime_status == "Completed", f"orchestration completed after {durable.episodes} replays")
    print(
        f"  {durable.sub_orchestrations} sub-orchestrations, {durable.activities} activities, "
        f"longest history {durable.max_history} events"
    )
    check(first["status"] == "succeeded", f"run {first['run_id']} succeeded: {first['items']} item versions")
    before = demo_coverage.originals(sim)
    more = demo_coverage.counts(before)
    also = ", ".join(f"{n} {what}" for what, n in more.items())
    check(first["items"] == total + contacts + events + files + sum(more.values()),
          f"every message, contact, event and file captured, and {also}")  # fmt: skip
    requests_full = control.stats()["total"]
    content_line = stored_content(env, first["bytes"])

    step("Changing the tenant: mail added, edited, moved, deleted; files deleted, edited, renamed")
    alice = users[0]["id"]
    inbox = sorted((m for m in messages(sim, alice) if m["folder_path"].startswith("/Inbox")), key=lambda m: m["id"])
    victim, edited, moved = inbox[0], inbox[1], inbox[2]
    graph = graph_client(sim)
    victim_view = snapshot(graph, control, alice, victim["id"])
    edited_view = snapshot(graph, control, alice, edited["id"])
    projects_then = Counter(
        (m["internetMessageId"], m["subject"])
        for m in messages(sim, alice)
        if m["folder_path"].startswith("/Inbox/Projects")
    )
    added = control.add_message(alice, "inbox", subject="Quarterly numbers (new)", attachments=1)
    control.update_message(alice, edited["id"], subject="Edited after the first backup")
    control.move_message(alice, moved["id"], "archive")
    control.delete_message(alice, victim["id"])
    print(f"  added {added['id'][:16]}…, edited {edited['id'][:16]}…, moved {moved['id'][:16]}… to Archive,")
    print(f"  deleted {victim['id'][:16]}… ({victim['subject']!r})")
    drive = control.drive(alice)
    doc_files = sorted((i for i in drive["items"] if not i["folder"]), key=lambda i: i["id"])
    lost_file, edited_file, renamed_file = doc_files[0], doc_files[1], doc_files[2]
    control.delete_drive_item(drive["id"], lost_file["id"])
    control.modify_drive_item(drive["id"], edited_file["id"], size=9000)
    control.rename_drive_item(drive["id"], renamed_file["id"], "renamed — ünïcode #2 100%.txt")
    print(f"  deleted file {lost_file['path']!r}, edited {edited_file['name']!r}, renamed {renamed_file['name']!r}")

    step("Incremental backup with the CLI (the same core, a local thread pool instead of Durable)")
    control.reset_stats()
    second = cli(env, "backup")
    stats = control.stats()
    check(second["status"] == "succeeded", f"run {second['run_id']} succeeded")
    check(second["items"] == 5, "5 new versions (mail: added, edited, moved; files: edited, renamed)")
    check(stats["by_kind"]["value"] <= 3, f"only changed messages downloaded ({stats['by_kind']['value']} MIME GETs)")

    step("Browsing the backup as of the first run")
    found = cli(env, "items", alice, "--run", first["run_id"], "--subject", victim["subject"][:12])
    check(any(i["id"] == victim["id"] for i in found["items"]), "the deleted message is in the first run's catalog")
    latest = cli(env, "items", alice)
    check(all(i["id"] != victim["id"] for i in latest["items"]), "and gone from the latest run's")

    step("Restoring the deleted message into its original folder")
    restored = cli(env, "restore", alice, "--run", first["run_id"], "--item", victim["id"])
    check(restored["restored"] == 1, "1 message restored")
    new_id = restored["items"][0]["new_id"]
    check(differences(victim_view, snapshot(graph, control, alice, new_id)) == [],
          "equal to the original as Graph reports it: not a draft; dates, state, headers, body")  # fmt: skip
    back = next(m for m in messages(sim, alice) if m["id"] == new_id)
    check(back["folder_id"] == victim["folder_id"], f"back in {back['folder_path']}")
    again = cli(env, "restore", alice, "--run", first["run_id"], "--item", victim["id"])
    check(again["skipped"] == 1, "restoring it again is skipped (conflict policy skip)")

    step("Restoring the deleted OneDrive file into its folder")
    file_key = f"{drive['id']}/{lost_file['id']}"
    got = cli(env, "restore", f"onedrive:{alice}", "--run", first["run_id"], "--item", file_key)
    check(got["restored"] == 1, "1 file restored")
    back_file = next(i for i in control.drive(alice)["items"] if i["path"] == lost_file["path"])
    check(back_file["sha256"] == lost_file["sha256"], f"{lost_file['path']} is back, byte-identical (SHA-256)")

    step("Restoring a SharePoint folder into a new folder of another site")
    sites = control.drives_state()["sites"]
    site_a, site_b = sites[0]["id"], sites[1]["id"]
    library = next(d for d in control.drives_state()["drives"] if d["owner_id"] == site_a)
    folder_item = next(
        i
        for i in library["items"]
        if i["folder"]
        and i["parent_id"]
        and any(not j["folder"] and j["path"].startswith(i["path"] + "/") for j in library["items"])
    )
    wanted_files = Counter(j["sha256"] for j in library["items"]
                           if not j["folder"] and j["path"].startswith(folder_item["path"] + "/"))  # fmt: skip
    site_restore = cli(
        env, "restore", f"sharepoint:{site_a}", "--run", first["run_id"],
        "--folder", folder_item["path"].lstrip("/"), "--destination", "new-folder", "--to-resource", site_b,
    )  # fmt: skip
    landed_files = Counter(
        j["sha256"] for d in control.drives_state()["drives"] if d["owner_id"] == site_b for j in d["items"]
        if not j["folder"] and j["path"].startswith(f"/{site_restore['destination']}/")
    )  # fmt: skip
    check(landed_files == wanted_files, f"{sum(wanted_files.values())} files of {folder_item['path']!r} in "
          f"{site_restore['destination']!r} of the other site, byte-identical")  # fmt: skip

    step("Restoring the folder Inbox/Projects into a new folder of another mailbox")
    bob = users[1]["id"]
    folder = cli(env, "restore", alice, "--run", first["run_id"], "--folder", "Inbox/Projects",
                 "--destination", "new-folder", "--to-user", bob)  # fmt: skip
    landed = [m for m in messages(sim, bob) if m["folder_path"].startswith(f"/{folder['destination']}/")]
    check(folder["restored"] == len(landed) > 0, f"{folder['restored']} messages into {folder['destination']!r}")
    check(
        Counter((m["internetMessageId"], m["subject"]) for m in landed) == projects_then
        and not any(m["isDraft"] for m in landed),
        "the folder as it was at the first run, each message once, none a draft",
    )

    api_line = restore_over_http(sim, first["run_id"], alice, bob, edited, edited_view)
    coverage = demo_coverage.run(sim, lambda *a: cli(env, *a), check, step, first["run_id"], before)

    runs = cli(env, "runs")
    return [
        f"full backup: {first['items']} items (of every category of every workload), {first['bytes']:,} bytes "
        f"written, {requests_full} Graph requests",
        f"incremental: {second['items']} new versions, {second['removed']} ended, {stats['total']} Graph requests",
        f"restores: 1 deleted message and 1 deleted file (byte-identical), {folder['restored']} messages of "
        f"Inbox/Projects to {bob[:8]}…",
        api_line,
        content_line,
        *coverage,
        f"runs recorded: {len(runs)}",
    ]


def stored_content(env: dict[str, str], logical: int) -> str:
    """How the full backup's content is stored: its format, and the container's content blobs against the bytes
    the backup wrote (after dedup, before compression)."""
    from core.bootstrap import build_services
    from core.storage.content_store import CONTENT_PREFIXES, KEYED

    services = build_services(load_settings(env))
    try:
        container = services.content._container
        blobs = [b for prefix in CONTENT_PREFIXES for b in container.list_blobs(name_starts_with=prefix)]
        stored = sum(b.size for b in blobs)
        check(blobs != [] and all(b.name.startswith(KEYED) for b in blobs),
              f"every one of the {len(blobs)} content blobs is encrypted, under a keyed name")  # fmt: skip
        return (f"content: {services.content.format.describe()}, stored/logical {stored / max(logical, 1):.2f} "
                f"({stored:,} bytes stored for {logical:,})")  # fmt: skip
    finally:
        services.close()


def restore_over_http(
    sim: SimulatorProcess, first_run: str, alice: str, bob: str, edited: dict, edited_view: dict
) -> str:
    """The help desk's path: the restore API over real HTTP (uvicorn on loopback), an Entra-style bearer token from
    the simulator's identity endpoint, the restore carried out by the real restore orchestrator."""
    step("The restore service over HTTP (FastAPI app of api/, served by uvicorn; Entra ID tokens from the simulator)")
    with ApiServer() as server:
        operator = sim.control.api_token(oid=OPERATOR_OID, name="helpdesk@contoso.test", roles=["Restore.Operator"],
                                         audience=API_AUDIENCE)  # fmt: skip
        admin = sim.control.api_token(oid=ADMIN_OID, name="admin@contoso.test", roles=["Backup.Admin"],
                                      audience=API_AUDIENCE, lifetime=3600)  # fmt: skip
        token_file = STATE / "admin-token.txt"
        token_file.write_text(admin)
        print(f"  dashboard: {server.url}/api/v1/dashboard  (while the demo runs; it needs the admin token:")
        print(
            f'    curl -H "Authorization: Bearer $(cat {token_file.relative_to(ROOT)})" {server.url}/api/v1/dashboard)'
        )
        print(f"  OpenAPI document: {server.url}/api/v1/openapi.json")
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {operator}"}, timeout=60) as http:
            found = http.get(f"/api/v1/resources/exchange:{alice}/items",
                             params={"run_id": first_run, "subject": edited["subject"][:12]}).json()  # fmt: skip
            check(any(i["id"] == edited["id"] for i in found["items"]), "search as of the first run finds the message "
                  "as it was before its edit")  # fmt: skip
            body = {"resource": f"exchange:{alice}", "run_id": first_run, "item_ids": [edited["id"]],
                    "destination": "new-folder", "destination_name": "Restored by the help desk"}  # fmt: skip
            accepted = http.post("/api/v1/restores", json=body)
            check(
                accepted.status_code == 202, f"POST /api/v1/restores -> 202, status at {accepted.headers['location']}"
            )
            while (job := http.get(accepted.headers["location"]).json())["status"] in ("accepted", "running"):
                time.sleep(0.1)
            check(job["status"] == "succeeded", f"restore job {job['id']} {job['status']}: {job['progress']}")
            new_id = job["items"][0]["new_id"]
            back = snapshot(graph_client(sim), sim.control, alice, new_id)
            diff = differences(edited_view, back)
            check(diff == [], f"the pre-edit message is back in 'Restored by the help desk', as it was {diff or ''}")
        with httpx.Client(base_url=server.url, timeout=60) as http:
            alice_token = sim.control.api_token(oid=alice, name="alice", audience=API_AUDIENCE)
            denied = http.get(
                f"/api/v1/resources/exchange:{bob}/items", headers={"Authorization": f"Bearer {alice_token}"}
            )
            check(denied.status_code == 403, "a self-service user is refused another user's mailbox (403, audited)")
            page = http.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {admin}"})
            check(page.status_code == 200 and "<svg" in page.text, "the dashboard renders with its charts")
            audit = http.get("/api/v1/audit", headers={"Authorization": f"Bearer {admin}"}).json()["items"]
            actions = sorted({f"{e['action']}:{e['result']}" for e in audit})
            check(
                {"restore:accepted", "restore.finished:succeeded"} <= set(actions), f"audit log: {', '.join(actions)}"
            )
    return f"over HTTP: 1 message restored as of the first run by a help-desk operator; {len(audit)} audit entries"


def interrupted() -> NoReturn:
    """Ctrl-C: the servers are stopped by now (the `with` in main); the backup threads still retrying against them
    were asked to stop (core/stopping.py) and are not waited for. Exit 130, as the CLI does."""
    print("\ndemo interrupted: Azurite and the simulator are stopped; `make demo` starts over", file=sys.stderr)
    leave(EXIT_INTERRUPTED)


if __name__ == "__main__":
    install_interrupts()  # the first Ctrl-C stops Graph work at its next request; a second one exits at once
    try:
        code = main()
    except KeyboardInterrupt:
        interrupted()
    sys.exit(code)
