"""The CLI as a user runs it: a subprocess, settings from the environment, JSON on stdout, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from core.config import SETTINGS
from tests.integration.tenant import open_tenant

REPO = Path(__file__).resolve().parents[2]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "BACKUP_"))}
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=REPO,
        env={**clean, **env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_documents_every_setting():
    done = _cli({}, "--help")
    assert done.returncode == 0
    for setting in SETTINGS:
        assert setting.name in done.stdout


def test_a_missing_setting_is_named_and_nothing_runs():
    done = _cli({"GRAPH_CLIENT_ID": "x"}, "runs")
    assert done.returncode == 2
    assert "GRAPH_TENANT_ID is required" in done.stderr


def test_backup_browse_and_errors_through_the_cli(tmp_path, storage_env):
    tenant = open_tenant(tmp_path / "sim", storage_env, users=1, messages=10, seed=8, contacts=0, events=0, tasks=0,
                         archive_messages=0)  # fmt: skip  # the counts below are the mailbox's 10 messages
    try:
        user = tenant.user(0)["id"]
        backup = _cli(tenant.env, "backup", "--json")
        assert backup.returncode == 0, backup.stderr
        summary = json.loads(backup.stdout)
        assert summary["status"] == "succeeded" and summary["items"] == 10

        items = json.loads(_cli(tenant.env, "items", user, "--json", "--folder", "Inbox").stdout)
        inbox = {m["id"] for m in tenant.user(0)["messages"] if m["folder_path"].startswith("/Inbox")}
        assert {i["id"] for i in items["items"]} == inbox and items["run_id"] == summary["run_id"]

        runs = json.loads(_cli(tenant.env, "runs", "--json").stdout)
        assert [r["run_id"] for r in runs] == [summary["run_id"]]
        points = json.loads(_cli(tenant.env, "points", user, "--json").stdout)
        assert points[0]["status"] == "succeeded" and points[0]["items"] == 10

        message = sorted(tenant.user(0)["messages"], key=lambda m: m["id"])[0]
        eml, archive = tmp_path / "one.eml", tmp_path / "mailbox.zip"
        assert _cli(tenant.env, "export", user, "--item", message["id"], "--out", str(eml)).returncode == 0
        assert eml.read_bytes() == tenant.sim.control.message_mime(user, message["id"])
        assert _cli(tenant.env, "export", user, "--mail", "--out", str(archive), "--json").returncode == 0
        with zipfile.ZipFile(archive) as zipped:
            assert len([n for n in zipped.namelist() if n.endswith(".eml")]) == 10
        # any category as its own zip (the registry's export), one item as its category renders it
        generic = tmp_path / "generic.zip"
        done = _cli(tenant.env, "export", user, "--zip", "--category", "mail", "--out", str(generic), "--json")
        assert done.returncode == 0 and json.loads(done.stdout)["messages"] == 10, done.stderr
        with zipfile.ZipFile(generic) as zipped:
            assert len([n for n in zipped.namelist() if n.endswith(".eml")]) == 10
        named = _cli(tenant.env, "export", user, "--item", message["id"], "--category", "mail", "--out", "-", "--json")
        assert named.returncode == 0 and named.stdout.startswith(eml.read_text(errors="replace")[:20])

        unknown = _cli(tenant.env, "items", "exchange:nobody", "--json")
        assert unknown.returncode == 2 and "no completed backup" in unknown.stderr
        bad_item = _cli(tenant.env, "restore", user, "--item", "AAMk-nope", "--json")
        assert bad_item.returncode == 2 and "AAMk-nope" in bad_item.stderr
        mail_invites = _cli(tenant.env, "restore", user, "--all", "--notify-attendees", "--json")
        assert mail_invites.returncode == 2 and "only to calendar events" in mail_invites.stderr
        bad_time = _cli(tenant.env, "items", user, "--at", "2026-01-01T00:00:00")
        assert bad_time.returncode == 2 and "time zone" in bad_time.stderr
    finally:
        tenant.close()


def test_items_searches_like_the_api_recipient_attachments_name_and_category(tmp_path, storage_env):
    tenant = open_tenant(tmp_path / "sim", storage_env, users=1, messages=6, seed=12, contacts=3, events=0)
    try:
        user = tenant.user(0)["id"]
        control = tenant.sim.control
        to = [("Alice", "alice@budget-team.example"), ("Bob", "bob@budget-team.example")]
        budget = control.add_message(user, "inbox", subject="Budget draft", to=to, attachments=1)
        lunch = control.add_message(user, "inbox", subject="Lunch?", to=[("Carol", "carol@lunch-club.example")])
        assert _cli(tenant.env, "backup", "--json").returncode == 0

        def ids(*args: str) -> set[str]:
            done = _cli(tenant.env, "items", user, "--json", *args)
            assert done.returncode == 0, done.stderr
            return {i["id"] for i in json.loads(done.stdout)["items"]}

        assert ids("--recipient", "BUDGET-team.example") == {budget["id"]}
        assert ids("--recipient", "budget-team", "--has-attachments") == {budget["id"]}
        assert ids("--recipient", "budget-team", "--no-attachments") == set()
        assert lunch["id"] in ids("--no-attachments") and budget["id"] not in ids("--no-attachments")
        assert ids("--name", "LUNCH") == {lunch["id"]}

        contact = tenant.user(0)["contacts"][0]
        found = json.loads(_cli(tenant.env, "items", user, "--json", "--category", "contact").stdout)
        assert found["category"] == "contact"
        assert {i["id"] for i in found["items"]} == {c["id"] for c in tenant.user(0)["contacts"]}
        assert all(i["category"] == "contact" for i in found["items"])
        assert contact["id"] in ids("--category", "contact", "--name", contact["properties"]["displayName"])
        wrong = _cli(tenant.env, "items", user, "--category", "file")
        assert wrong.returncode == 2 and "category must be one of" in wrong.stderr
    finally:
        tenant.close()
