"""The CLI behaves as documented: one-line errors with their exit codes (a traceback only with -v), usage errors
for what cannot be asked, progress on request, restores of every category with --all, CLI restores and exports in
the audit log. Each case is a defect found by hand (issue 15), run as a user runs the CLI: a subprocess."""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from core.progress import human_bytes
from tests.integration.tenant import surface_tenant_fixture
from tests.integration.test_cli import REPO, _cli

tenant = surface_tenant_fixture(
    "cli-behaviour", users=2, messages=8, seed=15, contacts=2, events=2, tasks=0, archive_messages=0, drive_files=2,
    sites=0, settings={"BACKUP_WORKLOADS": "exchange,onedrive"},
)  # fmt: skip
SIGN_IN = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "s"}


@pytest.fixture(scope="module")
def backed_up(tenant):
    done = _cli(tenant.env, "backup", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _one_line(done: subprocess.CompletedProcess, code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_every_bad_setting_is_named_at_once_one_line_each():
    env = {**SIGN_IN, "BACKUP_STORAGE_CONNECTION_STRING": "AccountName", "BACKUP_CONTAINER": "Bad_Name",
           "BACKUP_TABLE_PREFIX": "1x", "GRAPH_CA_BUNDLE": "/no/such/ca.pem", "GRAPH_PAGE_SIZE": "x"}  # fmt: skip
    lines = _one_line(_cli(env, "runs"), 2).strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("error: setting ") for line in lines), lines
    for name in ("BACKUP_STORAGE_CONNECTION_STRING", "BACKUP_CONTAINER", "BACKUP_TABLE_PREFIX", "GRAPH_CA_BUNDLE",
                 "GRAPH_PAGE_SIZE"):  # fmt: skip
        assert sum(name in line for line in lines) == 1, name


def test_unreachable_storage_is_one_line_and_a_traceback_only_with_v_even_after_the_subcommand():
    closed = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
              "BlobEndpoint=http://127.0.0.1:9/a;TableEndpoint=http://127.0.0.1:9/a")  # fmt: skip  # nothing listens
    env = {**SIGN_IN, "BACKUP_STORAGE_CONNECTION_STRING": closed}
    assert "storage unreachable" in _one_line(_cli(env, "runs"), 5)
    verbose = _cli(env, "runs", "-v")
    assert verbose.returncode == 5 and "Traceback" in verbose.stderr


def test_usage_is_strict_abbreviations_negative_limits_and_time_zone_hints():
    assert "unrecognized arguments: --progres" in _one_line(_cli({}, "backup", "--progres"), 2)
    assert "at least 1" in _one_line(_cli({}, "runs", "--limit", "-1"), 2)
    hint = _one_line(_cli({}, "items", "x", "--at", "2026-03-01Z"), 2)
    assert "ZZ" not in hint and "2026-03-01T00:00:00Z" in hint
    assert "not an ISO 8601 time" in _one_line(_cli({}, "items", "x", "--at", "2026-03-01ZZ"), 2)
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert _cli({}, "--version").stdout.strip().endswith(version)
    assert "examples:" in _cli({}, "restore", "--help").stdout


def test_the_console_script_and_python_m_core_run_from_any_directory(tmp_path):
    """`make deps` installs the checkout editable: `m365-backup` is on the virtualenv's PATH, and `python -m core`
    works outside the repository (no PYTHONPATH)."""
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = Path(sys.executable).with_name("m365-backup")
    assert script.exists(), f"{script} is not installed: run make deps"
    by_script = subprocess.run([str(script), "--version"], cwd=tmp_path, env=clean, capture_output=True, text=True)
    assert by_script.returncode == 0 and by_script.stdout.startswith("m365-backup "), by_script
    by_module = subprocess.run([sys.executable, "-m", "core", "runs", "--help"], cwd=tmp_path, env=clean,
                               capture_output=True, text=True)  # fmt: skip
    assert by_module.returncode == 0 and by_module.stdout.startswith("usage: python -m core runs"), by_module


def test_a_closed_pipe_ends_quietly(tenant, backed_up):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "BACKUP_"))}
    read, write = os.pipe()
    os.close(read)  # the reader (`| head`) is gone before anything is written
    try:
        done = subprocess.run([sys.executable, "-m", "core", "runs", "--json"], cwd=REPO, stdout=write,
                              stderr=subprocess.PIPE, env={**clean, **tenant.env, "PYTHONPATH": str(REPO)},
                              timeout=60, text=True, check=False)  # fmt: skip
    finally:
        os.close(write)
    assert done.returncode == 141 and done.stderr == "", done.stderr


def test_sign_in_host_unreachable_is_one_line(tenant, backed_up):
    env = {**tenant.env, "GRAPH_AUTHORITY_HOST": "https://127.0.0.1:9", "GRAPH_MAX_ATTEMPTS": "1"}
    assert "sign-in" in _one_line(_cli(env, "backup"), 5)


def test_usage_errors_of_a_backed_up_tenant(tenant, backed_up, tmp_path):
    user = tenant.user(0)["id"]
    runs_before = json.loads(_cli(tenant.env, "runs", "--json").stdout)
    assert "not enabled" in _one_line(_cli(tenant.env, "backup", "--resource", f"teams:{user}"), 2)
    assert "unknown workload" in _one_line(_cli(tenant.env, "backup", "--resource", f"nope:{user}"), 2)
    assert json.loads(_cli(tenant.env, "runs", "--json").stdout) == runs_before  # no failed run recorded
    assert "no restore points" in _one_line(_cli(tenant.env, "points", "exchange:nobody"), 2)

    missing = tmp_path / "no-such-folder" / "out.eml"
    assert "does not exist" in _one_line(_cli(tenant.env, "export", user, "--item", "x", "--out", str(missing)), 2)
    failed = tmp_path / "failed.eml"
    _one_line(_cli(tenant.env, "export", user, "--item", "AAMk-nope", "--out", str(failed)), 2)
    assert list(tmp_path.iterdir()) == [], "a failed export left a file behind"


def test_a_folder_path_with_slashes_around_it_is_found(tenant, backed_up):
    user = tenant.user(0)
    nested = next(m["folder_path"] for m in user["messages"] if m["folder_path"].count("/") >= 2)

    def ids(folder: str) -> set[str]:
        done = _cli(tenant.env, "items", user["id"], "--folder", folder, "--json")
        assert done.returncode == 0, done.stderr
        return {i["id"] for i in json.loads(done.stdout)["items"]}

    plain = ids(nested.strip("/"))
    assert plain and ids(f"/{nested.strip('/')}/") == plain == ids(f"{nested.strip('/')}/")


def test_restore_all_is_every_category_and_cli_restores_and_exports_are_audited(tenant, backed_up, tmp_path):
    user = tenant.user(1)
    done = _cli(tenant.env, "restore", user["id"], "--all", "--destination", "new-folder", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    backed = {c: len(json.loads(_cli(tenant.env, "items", user["id"], "--category", c, "--json").stdout)["items"])
              for c in ("mail", "contact", "event")}  # fmt: skip
    assert backed["contact"] == 2 and backed["event"] >= 1  # not mail only
    # every message and contact, and the events (a recurring series' exception comes back with its series)
    assert report["failed"] == 0 and report["restored"] > backed["mail"] + backed["contact"], (report, backed)

    other = tenant.user(0)["id"]
    drive = _cli(tenant.env, "restore", f"onedrive:{user['id']}", "--all", "--to-resource", f"onedrive:{other}",
                 "--destination", "new-folder", "--json")  # fmt: skip  # the API's form of a target
    assert drive.returncode == 0, drive.stderr
    files = json.loads(_cli(tenant.env, "items", f"onedrive:{user['id']}", "--json").stdout)["items"]
    assert json.loads(drive.stdout)["target_owner"] == other and json.loads(drive.stdout)["restored"] == len(files)

    out = tmp_path / "mailbox.zip"
    assert _cli(tenant.env, "export", user["id"], "--mail", "--out", str(out)).returncode == 0
    entries, _ = tenant.services.audit.list(limit=20)
    mine = [e for e in entries if e["actor"] == f"cli:{getpass.getuser()}"]
    assert {(e["action"], e["resource"], e["result"]) for e in mine} >= {
        ("restore", f"exchange:{user['id']}", "succeeded"),
        ("restore", f"onedrive:{user['id']}", "succeeded"),
        ("export", f"exchange:{user['id']}", "succeeded"),
    }


def test_backup_progress_counts_items_and_bytes(tenant, backed_up):
    user = tenant.user(0)["id"]
    tenant.sim.control.add_message(user, "inbox", subject="Progress", attachments=1)
    done = _cli(tenant.env, "backup", "--resource", f"exchange:{user}", "--progress", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # stdout stays clean JSON
    assert summary["items"] >= 1
    # the bar is redrawn after a carriage return; text mode reads each "\r" as a line break
    drawn = [line.replace("\x1b[K", "") for line in re.split(r"[\r\n]", done.stderr) if line.strip()]
    last = drawn[-1]
    assert "] 1/1 resources" in last and f"  {summary['items']} items  " in last, drawn
    assert human_bytes(summary["bytes"]) in last, (summary["bytes"], drawn)
