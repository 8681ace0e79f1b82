"""Per-item progress of CLI restores and exports (issue 15): the progress line counts the items done of those the
selection holds (`k/N items`, bytes, an ETA), for a restore and for every export format, and nothing is drawn with
--json, with --no-progress or into a pipe. Run as a user runs the CLI: a subprocess, its stderr on a pipe or on a
pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

from core.progress import human_bytes
from core.workloads.groups.posts_backup import POST
from core.workloads.lists.list_backup import LIST_ITEM
from core.workloads.teams.messages_backup import CHANNEL_MESSAGE
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant, surface_tenant_fixture
from tests.integration.test_cli import REPO, _cli

tenant = surface_tenant_fixture(
    "cli-progress", users=1, messages=8, seed=41, contacts=3, events=3, tasks=0, archive_messages=0, drive_files=0,
    sites=0, settings={"BACKUP_WORKLOADS": "exchange"},
)  # fmt: skip
_COUNT = re.compile(r"(\d+)/(\d+) items")


@pytest.fixture(scope="module")
def backed_up(tenant) -> dict:
    done = _cli(tenant.env, "backup", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _held(tenant, run_id: str, category: str) -> list:
    return list(tenant.services.catalog.as_of(f"exchange:{tenant.user(0)['id']}", category, run_id))


def _counts(stderr: str) -> list[tuple[int, int]]:
    """Every state the progress line was drawn in, in order: (done, total)."""
    return [(int(m[1]), int(m[2])) for m in _COUNT.finditer(stderr)]


def _last(stderr: str) -> str:
    """The line as last drawn (text mode reads each carriage return as a line end)."""
    return [line for line in stderr.splitlines() if line.strip()][-1]


def _counted_up_to(done: subprocess.CompletedProcess, n: int) -> str:
    assert done.returncode == 0, done.stderr
    counts = _counts(done.stderr)
    last = _last(done.stderr)
    assert f"{n}/{n} items" in last, done.stderr  # the final line: every selected item, of the selection's size
    assert any(0 < k < n for k, total in counts if total == n), counts  # it counted up on the way
    assert [k for k, _ in counts] == sorted(k for k, _ in counts), counts  # never backwards
    return last


def test_a_restore_of_several_items_counts_each_of_the_selection(tenant, backed_up):
    messages = _held(tenant, backed_up["run_id"], "mail")[:5]
    picked = [a for m in messages for a in ("--item", m.item_id)]
    done = _cli(tenant.env, "restore", tenant.user(0)["id"], *picked, "--destination", "new-folder", "--progress",
                "--json")  # fmt: skip
    last = _counted_up_to(done, len(messages))
    assert json.loads(done.stdout)["restored"] == len(messages)  # stdout stays the clean JSON report
    assert re.search(r"\d+ requests", last) and f"  {human_bytes(sum(m.size for m in messages))}  " in last, last


def test_a_restore_of_every_category_adds_each_category_s_selection(tenant, backed_up):
    done = _cli(tenant.env, "restore", tenant.user(0)["id"], "--all", "--destination", "new-folder", "--progress",
                "--json")  # fmt: skip
    report = json.loads(done.stdout)
    totals = sorted({total for _, total in _counts(done.stderr)})
    assert len(totals) >= 2, totals  # the total grew as each category announced its selection
    n = totals[-1]
    _counted_up_to(done, n)
    held = {c: len(_held(tenant, backed_up["run_id"], c)) for c in ("mail", "contact", "event")}
    assert n == sum(held.values()), (n, held)  # every item of every category's selection, none twice
    # a series' exceptions come back with their series: counted on the line, the report counts the series
    assert report["failed"] == 0 and held["mail"] + held["contact"] < report["restored"] <= n, report


@pytest.mark.parametrize(
    ("how", "category"),
    [
        (("--mail",), "mail"),
        (("--zip", "--category", "contact"), "contact"),
        (("--zip", "--category", "event"), "event"),
        (("--contacts",), "contact"),
        (("--events",), "event"),
    ],
)
def test_every_export_format_counts_the_items_it_selected(tenant, backed_up, tmp_path, how, category):
    out = tmp_path / "export.out"
    done = _cli(tenant.env, "export", tenant.user(0)["id"], *how, "--out", str(out), "--progress")
    last = _counted_up_to(done, len(_held(tenant, backed_up["run_id"], category)))
    assert re.search(r"\d+(\.\d)? (B|KB|MB)", last) and out.stat().st_size > 0, last


def test_a_single_item_export_is_one_item(tenant, backed_up, tmp_path):
    message = _held(tenant, backed_up["run_id"], "mail")[0]
    out = tmp_path / "one.eml"
    done = _cli(tenant.env, "export", tenant.user(0)["id"], "--item", message.item_id, "--out", str(out),
                "--progress")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1/1 items" in _last(done.stderr), done.stderr
    assert _counts(done.stderr)[0] in ((0, 1), (1, 1)) and out.stat().st_size == message.size


def _on_a_terminal(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """The CLI with its stderr on a pseudo-terminal (as in a shell): exit code, stdout, what the terminal got."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "BACKUP_"))}
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as stdout:
        child = subprocess.Popen([sys.executable, "-m", "core", *args], cwd=REPO, stdout=stdout, stderr=slave,
                                 env={**clean, **env, "PYTHONPATH": str(REPO)})  # fmt: skip
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        os.close(master)
        code = child.wait(timeout=120)
        stdout.seek(0)
        return code, stdout.read().decode(), seen.decode(errors="replace")


def test_on_a_terminal_progress_is_drawn_by_default_but_never_with_json_or_no_progress(tenant, backed_up, tmp_path):
    user = tenant.user(0)["id"]
    n = len(_held(tenant, backed_up["run_id"], "contact"))
    code, _, drawn = _on_a_terminal(tenant.env, "export", user, "--contacts", "--out", str(tmp_path / "a.vcf"))
    assert code == 0 and f"{n}/{n} items" in drawn, drawn  # a terminal: drawn without being asked

    code, stdout, drawn = _on_a_terminal(tenant.env, "export", user, "--contacts", "--out", str(tmp_path / "b.vcf"),
                                         "--json")  # fmt: skip
    assert code == 0 and json.loads(stdout)["contacts"] == n
    assert "items" not in drawn and "\r" not in drawn, drawn

    message = _held(tenant, backed_up["run_id"], "mail")[0].item_id
    code, stdout, drawn = _on_a_terminal(tenant.env, "restore", user, "--item", message, "--destination",
                                         "new-folder", "--json")  # fmt: skip
    assert code == 0 and json.loads(stdout)["restored"] == 1
    assert "items" not in drawn and "\r" not in drawn, drawn

    code, _, drawn = _on_a_terminal(tenant.env, "restore", user, "--item", message, "--destination", "new-folder",
                                    "--no-progress")  # fmt: skip
    assert code == 0 and "\r" not in drawn and "restored 1" not in drawn, drawn  # the report goes to stdout


def test_into_a_pipe_nothing_is_drawn(tenant, backed_up, tmp_path):
    done = _cli(tenant.env, "export", tenant.user(0)["id"], "--events", "--out", str(tmp_path / "c.ics"))
    assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.fixture(scope="module")
def collaboration(tmp_path_factory, azurite) -> Iterator[tuple[Tenant, dict]]:
    """A site's lists, a team's channels and a group's conversations backed up: the exports that gather their
    items first (a list's CSV, a channel's transcript, a thread's file) count them too."""
    t = open_tenant(tmp_path_factory.mktemp("cli-progress-collab") / "sim", isolated_storage(azurite),
                    {"BACKUP_WORKLOADS": "sharepoint,teams,groups"}, users=3, messages=1, seed=43, contacts=0,
                    events=0, drive_files=1, sites=1, list_items=4, channel_messages=3, group_posts=3)  # fmt: skip
    try:
        done = _cli(t.env, "backup", "--json")
        assert done.returncode == 0, done.stderr
        yield t, json.loads(done.stdout)
    finally:
        t.close()


@pytest.mark.parametrize(("workload", "category"), [("sharepoint", LIST_ITEM), ("teams", CHANNEL_MESSAGE),
                                                    ("groups", POST)])  # fmt: skip
def test_exports_that_gather_their_items_first_count_them(collaboration, tmp_path, workload, category):
    tenant, summary = collaboration
    counts = {}
    for result in summary["results"]:
        if result["resource"].startswith(f"{workload}:"):
            counts[result["resource"]] = len(list(tenant.services.catalog.as_of(result["resource"], category,
                                                                                summary["run_id"])))  # fmt: skip
    resource, n = max(counts.items(), key=lambda kv: kv[1])
    assert n >= 2, counts
    done = _cli(tenant.env, "export", resource, "--zip", "--category", category, "--out", str(tmp_path / "x.zip"),
                "--progress")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{n}/{n} items" in _last(done.stderr), done.stderr
    assert (0, n) in _counts(done.stderr), done.stderr  # the total known before the first item
