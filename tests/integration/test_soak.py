"""Issue 11, the soak: a faulted backup of a whole small tenant (two mailboxes with mail, contacts and events, their
OneDrives, a site), killed with SIGKILL twenty times at seeded random moments and resumed each time, while the
tenant changes and Graph answers 429 (with and without Retry-After), 503, resets connections after the headers,
answers transient 404s on content, and once expires the mailboxes' and the drives' delta links. Then one run without
faults. Every item the tenant holds is in the latest restore point, as it is now; no item ever has two live
versions; nothing is left in the quarantine; no killed run is recorded as succeeded; and what the point holds
restores byte-identical."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core.restore import restore
from core.restore_request import RestoreRequest
from core.workloads.exchange.contacts_backup import CONTACT
from core.workloads.exchange.events_backup import EVENT
from core.workloads.exchange.mail_backup import MAIL
from devenv.message_fidelity import differences, snapshot
from tests.integration.soak_tenant import (
    CATEGORIES,
    ITEMS,
    Changes,
    drive_resource,
    duplicates,
    fault_mix,
    point_items,
    resources,
    seed_calendar,
    tenant_items,
)
from tests.integration.tenant import Tenant, open_tenant, sha256

REPO = Path(__file__).resolve().parents[2]
SEED = 1111
KILLS = 20
SETTINGS = {"BACKUP_WORKLOADS": "exchange,onedrive,sharepoint", "GRAPH_PAGE_SIZE": "6"}
LATEST = "\uffff"  # as of a run after every run: the live versions


@contextmanager
def _backup_process(tenant: Tenant, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m core backup --json` in a child process with the tenant's settings (stdout to `log`, stderr beside
    it); SIGKILLed on the way out if it is still running."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "BACKUP_"))}
    env = {**clean, **tenant.env, "PYTHONPATH": str(REPO)}
    with log.open("wb") as out, log.with_suffix(".err").open("wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "core", "backup", "--json"], cwd=REPO, env=env,
                                   stdout=out, stderr=err)  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(30)


def _output(log: Path) -> str:
    return log.read_text() + log.with_suffix(".err").read_text()


def _new_run(tenant: Tenant, known: set[str], process: subprocess.Popen[bytes], timeout: float = 60) -> str | None:
    """The id of the run `process` started (None if it ended first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [r["run_id"] for r in tenant.services.runs.running() if r["run_id"] not in known]
        if fresh:
            return fresh[0]
        if process.poll() is not None:
            return None
        time.sleep(0.02)
    raise TimeoutError("the backup run did not start")


@dataclass
class Soak:
    """What the schedule of runs did."""

    killed: list[str] = field(default_factory=list)  # runs SIGKILLed before they recorded their end
    completed: list[str] = field(default_factory=list)  # runs that ended before the kill came
    launches: int = 0


def test_twenty_sigkills_in_a_faulted_backup_lose_nothing(tmp_path: Path, storage_env: dict[str, str]) -> None:
    began = time.monotonic()
    tenant = open_tenant(tmp_path / "sim", storage_env, SETTINGS, users=2, messages=30, seed=SEED, latency_ms=4,
                         contacts=5, events=0, drive_files=20, sites=1)  # fmt: skip
    try:
        control = tenant.sim.control
        users = [u["id"] for u in tenant.mailboxes()]
        for user in users:
            seed_calendar(control, user)
        drives = control.drives_state()["drives"]
        changing = [control.drive(users[0])["id"], next(d["id"] for d in drives if d["owner_kind"] == "site")]
        changes = Changes(control, users, changing, random.Random(SEED + 1), Counter())
        soak = _kill_faulted_runs(tenant, changes, tmp_path)
        soaked = time.monotonic()

        control.clear_faults()
        final_log = tmp_path / "final.log"
        with _backup_process(tenant, final_log) as final:
            assert final.wait(120) == 0, _output(final_log)
        summary = json.loads(final_log.read_text())
        assert summary["status"] == "succeeded", summary

        # no killed run is recorded as succeeded: the next run found each one's process gone
        runs = {r["run_id"]: r for r in tenant.services.runs.list(limit=200)}
        assert {runs[r]["status"] for r in soak.killed} == {"interrupted"}, [runs[r] for r in soak.killed]
        held_on_the_way = _latest_point_holds_the_tenant(tenant, summary["run_id"])
        stats = control.stats()  # the faults really happened
        assert stats["answered_429"] and stats["answered_503"] and stats["resets"], stats
        assert stats["by_status"].get("404") and stats["by_status"].get("410"), stats["by_status"]

        checked = time.monotonic()
        _restores_identical(tenant, users)
        print(f"soak: {soak.launches} runs, {len(soak.killed)} killed, {len(soak.completed)} completed, "
              f"{held_on_the_way} items held on the way, changes {dict(changes.done)}; "
              f"{time.monotonic() - began:.0f} s "
              f"(runs {soaked - began:.0f} s, final run and checks {checked - soaked:.0f} s, "
              f"restores {time.monotonic() - checked:.0f} s)")  # fmt: skip
    finally:
        tenant.close()


def _kill_faulted_runs(tenant: Tenant, changes: Changes, tmp_path: Path) -> Soak:
    """Backup runs in child processes, each under a fresh seeded mix of faults, until KILLS of them were SIGKILLed
    mid-run, at a seeded moment in the run's first `window` seconds (2.5 s, then nine tenths of the last run that
    ended before its kill: on a faster machine the kills still land inside the runs); the tenant changes while some
    of them run; the mailboxes' delta links expire before the 8th run, the drives' before the 14th."""
    control, rng, soak, known = tenant.sim.control, random.Random(SEED), Soak(), set[str]()
    window = 2.5
    while len(soak.killed) < KILLS:
        soak.launches += 1
        assert soak.launches <= 2 * KILLS, f"only {len(soak.killed)} of {soak.launches - 1} runs could be killed"
        control.clear_faults()
        control.set_faults(*fault_mix(rng, soak.launches))
        if soak.launches == 8:
            control.expire_delta_tokens()  # mail, contact and calendar links of every mailbox: 410
        if soak.launches == 14:
            control.expire_drive_delta_tokens()  # every drive's link: 410 resyncChangesApplyDifferences
        log = tmp_path / f"run{soak.launches}.log"
        with _backup_process(tenant, log) as process:  # SIGKILLed when this block ends, if it is still running
            run_id = _new_run(tenant, known, process)
            assert run_id is not None, _output(log)
            kill_at = time.monotonic() + rng.random() * window
            known.add(run_id)
            if soak.launches > 1 and rng.random() < 0.6:
                changes.some(rng.randint(1, 4))  # while the run is under way
            time.sleep(max(0.0, kill_at - time.monotonic()))
        run = tenant.services.runs.get(run_id)
        if run["status"] == "running":  # it had not recorded its end when it was killed: killed mid-run
            soak.killed.append(run_id)
        else:
            soak.completed.append(run_id)
            took = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
            window = max(0.3, 0.9 * took.total_seconds())
    if not changes.done:
        changes.some(3)
    return soak


def _latest_point_holds_the_tenant(tenant: Tenant, run_id: str) -> int:
    """Every item the tenant holds is in the latest restore point (that of `run_id`) as it is now; no item has two
    live versions, now or at any restore point; nothing is held in the quarantine. Returns how many items were held
    on the way (and released since)."""
    expected, held = tenant_items(tenant), resources(tenant)
    assert set(expected) == set(held)
    catalog, quarantine = tenant.services.catalog, tenant.services.quarantine
    for resource, kind in held.items():
        assert tenant.services.runs.resolve_point(resource) == run_id
        versions = [v for c in CATEGORIES[kind] for v in catalog.as_of(resource, c, run_id)]
        assert {k: v for k, v in point_items(versions).items() if k[0] in ITEMS} == expected[resource], resource
        assert quarantine.held(resource) == [], resource  # each held item was retried by id and captured
        assert duplicates(v for c in CATEGORIES[kind] for v in catalog.as_of(resource, c, LATEST)) == [], resource
        for point in tenant.services.runs.points(resource):
            at_point = (v for c in CATEGORIES[kind] for v in catalog.as_of(resource, c, point["run_id"]))
            assert duplicates(at_point) == [], (resource, point["run_id"])
    ever_held = [i for r in held for i in quarantine.history(r)]
    assert ever_held and all(i.released_run for i in ever_held)  # the transient 404s did make the engines hold
    return len(ever_held)


def _restores_identical(tenant: Tenant, users: list[str]) -> None:
    """Whole restores of every resource's latest point into a new folder beside the originals, each equal to what
    the tenant holds: files byte for byte, contacts and events on every property, messages as Graph shows them
    (Exchange renders a created item's MIME itself) from MIME stored byte for byte."""
    for user in users:
        original = next(u for u in tenant.sim.control.state()["users"] if u["id"] == user)
        _mail_restores_identical(tenant, user, original["messages"])
        for category, of in ((CONTACT, "contacts"), (EVENT, "events")):
            _pim_restores_identical(tenant, user, category, [i for i in original[of] if i.get("type") != "occurrence"])
    before = tenant.sim.control.drives_state()["drives"]
    for resource in sorted({drive_resource(d) for d in before}):
        report = restore(tenant.services, RestoreRequest(resource, whole=True, destination="new-folder"))
        assert report.failed == 0, report.failures
        prefix = f"/{report.destination}"
        after = {d["id"]: d for d in tenant.sim.control.drives_state()["drives"]}
        for drive in (d for d in before if drive_resource(d) == resource):
            files = {i["path"]: i["sha256"] for i in drive["items"] if not i["folder"]}
            landed = {i["path"].removeprefix(prefix): i["sha256"] for i in after[drive["id"]]["items"]
                      if not i["folder"] and i["path"].startswith(prefix + "/")}  # fmt: skip
            assert landed == files, (resource, drive["name"])


def _mail_restores_identical(tenant: Tenant, user: str, messages: list[dict[str, Any]]) -> None:
    resource, control, graph = f"exchange:{user}", tenant.sim.control, tenant.services.graph
    for version in tenant.services.catalog.as_of(resource, MAIL, tenant.services.runs.resolve_point(resource)):
        assert sha256(tenant.services.content.read(version.content_hash)) == version.content_hash  # what is sent
    report = restore(tenant.services, RestoreRequest(resource, whole=True, destination="new-folder"))
    assert (report.restored, report.failed) == (len(messages), 0), report.failures
    now = next(u for u in control.state()["users"] if u["id"] == user)
    prefix = f"/{report.destination}"
    landed = {m["internetMessageId"]: m for m in now["messages"] if m["folder_path"].startswith(prefix + "/")}
    assert len(landed) == len(messages)
    for message in messages:
        copy = landed[message["internetMessageId"]]
        assert copy["folder_path"] == prefix + message["folder_path"]
        was = snapshot(graph, control, user, message["id"])
        assert differences(was, snapshot(graph, control, user, copy["id"])) == [], message


def _pim_restores_identical(tenant: Tenant, user: str, category: str, kept: list[dict[str, Any]]) -> None:
    of = "contacts" if category == CONTACT else "events"
    request = RestoreRequest(f"exchange:{user}", whole=True, destination="new-folder", category=category)
    report = restore(tenant.services, request)
    series_part = sum(1 for i in kept if i.get("type") == "exception")  # each comes back with its series
    assert (report.restored, report.failed) == (len(kept) - series_part, 0), report.failures
    old = {i["id"] for i in kept}
    new = [i for i in tenant.sim.control.pim(user)[of] if i["id"] not in old and i.get("type") != "occurrence"]
    assert sorted(map(_pim_view, new)) == sorted(map(_pim_view, kept)), category


def _pim_view(item: dict[str, Any]) -> tuple[Any, ...]:
    """A contact or event as the simulator holds it, ids left out: every property (sha256), its photo, its
    attachments' bytes, and a series' cancelled occurrences."""
    attachments = sorted(a["sha256"] for a in item.get("attachments", []))
    cancelled = len(item.get("cancelled_occurrences") or [])
    return item["sha256"], item.get("photo_sha256") or "", attachments, cancelled
