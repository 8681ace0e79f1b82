"""Erasure of one person's data (core/lifecycle/erasure.py) against Azurite and the simulator: refused while a
resource of theirs is on legal hold and when the confirmation code is wrong or old (nothing removed either way);
otherwise every point and version of their mailbox and OneDrive goes, with the content only they referenced and the
journal blobs holding their rows, while a message they share with another mailbox (one blob) stays and that mailbox
still restores it byte for byte; an immutable blob is left pending and a later run removes it once it expires."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import AlreadyRunningError, InvalidRequestError, LegalHoldError
from core.exports.downloads import open_download
from core.lifecycle.erasure import erase, finish_pending
from core.lifecycle.erasure_plan import person_keys, plan_erasure
from core.lifecycle.erasure_removal import find_journal_blobs
from core.lifecycle.holds import Actor, place_hold, release_hold
from core.lifecycle.removal import content_of, referencing
from core.rebuild_catalog import rebuild_catalog
from core.storage.immutability import NoImmutability
from core.verify import verify
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant, sha256
from tests.integration.test_cli import _cli

ADMIN = Actor("00000000-0000-0000-0000-0000000000ad", "dpo@contoso.test", ("Backup.Admin",))
SHARED_MIME = (
    b"From: Carol <carol@contoso.test>\r\nTo: a@contoso.test, b@contoso.test\r\nSubject: Quarterly figures\r\n"
    b"Message-ID: <shared-1@contoso.test>\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\nContent-Type: text/plain\r\n"
    b"\r\nThe figures.\r\n"
)
JOURNALS = ("catalog", "restorepoints")  # the journals that hold a person's rows


class ProtectedBlobs:
    """A test adapter of the immutability port: the named blobs are protected until `until`, the rest are not."""

    def __init__(self) -> None:
        self.until: dict[str, datetime] = {}

    def protected_until(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        return {name: self.until.get(name) for name in blob_names}

    def extend(self, blob_name: str, until: datetime) -> None:
        self.until[blob_name] = max(until, self.until.get(blob_name, until))


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_WORKLOADS": "exchange,onedrive"}
    t = open_tenant(tmp_path_factory.mktemp("erasure") / "sim", isolated_storage(azurite), settings, users=3,
                    messages=4, seed=53, contacts=1, events=1, drive_files=2, tasks=0)  # fmt: skip
    a, b = t.user(0)["id"], t.user(1)["id"]
    t.sim.control.add_message(a, mime=SHARED_MIME)
    t.sim.control.add_message(b, mime=SHARED_MIME)
    assert t.backup()["status"] == "succeeded"
    yield t
    t.close()


def _state(tenant: Tenant, user: str) -> tuple[int, int, int, int]:
    """(points, versions of the person, content blobs, journal blobs): what a refused erasure must leave as it was."""
    services = tenant.services
    keys = person_keys(user)
    points = sum(len(services.runs.points(k)) for k in keys)
    versions = sum(1 for k in keys for _ in services.catalog.all_versions(k))
    container = services.content._container
    journal = sum(1 for t in JOURNALS for _ in container.list_blobs(name_starts_with=f"journal/{t}/"))
    return points, versions, tenant.blob_count(), journal


def _cli_user() -> str:
    return Actor.cli().name


def _blobs_of(tenant: Tenant, user: str) -> set[str]:
    return {sha for key in person_keys(user) for sha in content_of(key, tenant.services.catalog.all_versions(key))}


def test_a_hold_refuses_the_erasure_and_nothing_is_removed(tenant: Tenant):
    services, a = tenant.services, tenant.user(0)["id"]
    services.immutability = NoImmutability()
    place_hold(services, f"onedrive:{a}", "Matter 2026-17: contract dispute", ADMIN)
    plan = plan_erasure(services, a)
    assert [h["resource"] for h in plan.holds] == [f"onedrive:{a}"]
    before = _state(tenant, a)
    with pytest.raises(LegalHoldError, match=r"on legal hold: onedrive:.*Matter 2026-17"):
        erase(services, a, plan.code, ADMIN)
    assert _state(tenant, a) == before
    done = _cli(tenant.env, "erase", "--user", a, "--confirm", plan.code)  # the CLI says so in one line, exit 2
    assert done.returncode == 2 and "LegalHoldError" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert _state(tenant, a) == before
    refused = [e for e in services.audit.list(50)[0] if e["action"] == "erasure" and e["result"] == "rejected"]
    assert all("Matter 2026-17" in e["detail"] for e in refused)
    assert [e["actor_name"] for e in refused[:2]] == [_cli_user(), ADMIN.name]  # newest first: the CLI's, then ours
    release_hold(services, f"onedrive:{a}", ADMIN)


def test_a_wrong_or_old_confirmation_code_is_refused_and_changes_nothing(tenant: Tenant):
    services, a = tenant.services, tenant.user(0)["id"]
    shown = _cli(tenant.env, "erase", "--user", a, "--json")
    assert shown.returncode == 0, shown.stderr
    plan = json.loads(shown.stdout)
    assert {r["resource"] for r in plan["resources"]} == {f"exchange:{a}", f"onedrive:{a}"}
    assert plan["blobs"]["shared_kept"] >= 1 and plan["blobs"]["remove"] > 0 and plan["journal"]["remove"] > 0
    assert any("BACKUP_EXCLUDE_USERS" in note for note in plan["not_erased"])  # backed up again unless excluded
    upn = tenant.user(0)["userPrincipalName"]
    assert plan_erasure(services, upn).code == plan["code"]  # a UPN is resolved to the same person through Graph
    assert plan_erasure(services, a.upper()).code == plan["code"]  # an object id in capitals is the same id
    text = _cli(tenant.env, "erase", "--user", a).stdout
    assert f"confirmation code: {plan['code']}" in text and "not erased:" in text
    before = _state(tenant, a)
    wrong = _cli(tenant.env, "erase", "--user", a, "--confirm", "0123456789")
    assert wrong.returncode == 2 and "does not match the plan" in wrong.stderr
    tenant.sim.control.add_message(a, subject="after the plan was shown")
    assert tenant.backup()["status"] == "succeeded"
    with pytest.raises(InvalidRequestError, match="does not match the plan"):  # the backup changed the plan
        erase(services, a, plan["code"], ADMIN)
    assert _state(tenant, a)[0] == before[0] + 2  # only the new backup's points (mailbox, OneDrive) were added


def test_erasure_leaves_nothing_of_the_person_and_keeps_what_another_mailbox_shares(tenant: Tenant):
    services, a, b = tenant.services, tenant.user(0)["id"], tenant.user(1)["id"]
    services.immutability = NoImmutability()
    theirs, others = _blobs_of(tenant, a), _blobs_of(tenant, b)
    shared = {sha256(SHARED_MIME)}
    assert shared <= theirs & others
    assert services.runs.baselines.window(f"onedrive:{a}")  # their drive's runs have a ransomware-signal baseline
    plan = plan_erasure(services, a)
    services.runs.start("20261201T000000000000Z", "test")  # a backup run in progress (as a Durable one records it)
    before = _state(tenant, a)
    with pytest.raises(AlreadyRunningError, match="is in progress"):  # its versions would outlive the erasure
        erase(services, a, plan.code, ADMIN)
    assert _state(tenant, a) == before
    services.runs.finish("20261201T000000000000Z", {"status": "succeeded"})
    report = erase(services, a, plan.code, ADMIN)
    assert report["status"] == "completed" and report["resources"] == 2
    assert report["blobs_removed"] == len(theirs - others) > 0 and report["blobs_pending"] == 0
    for key in person_keys(a):  # no version, point, delta state or journal blob with their rows is left
        assert not list(services.catalog.all_versions(key)) and not services.runs.points(key)
        assert not services.delta_state.load(key)
        assert not services.runs.baselines.window(key)  # nor the ransomware signal's shares of their runs
    assert not set(services.runs.points_by_resource()) & set(person_keys(a))
    assert not find_journal_blobs(services, person_keys(a)).rows
    assert not any(services.content.exists(sha) for sha in theirs - others)
    assert all(services.content.exists(sha) for sha in others)  # the shared message's blob too
    stored = {b.name.rsplit("/", 1)[-1] for b in services.content._container.list_blobs(name_starts_with="sha256/")}
    assert referencing(services, stored) == stored  # no unreferenced blob is left
    # the other mailbox still restores the shared message byte for byte, and verifies intact
    message = next(m for m in tenant.sim.control.list_messages(b) if m["sha256"] == sha256(SHARED_MIME))
    data = b"".join(open_download(services, f"exchange:{b}", message["id"]).chunks)
    assert data == SHARED_MIME
    assert verify(services, [f"exchange:{b}"])["status"] == "ok"
    # a rebuild of the tables from the journal does not bring them back
    rebuild_catalog(services.settings)
    assert not any(list(services.catalog.all_versions(k)) or services.runs.points(k) for k in person_keys(a))
    listed = json.loads(_cli(tenant.env, "erasures", "--json").stdout)
    assert listed[0]["erasure_id"] == report["erasure_id"] and listed[0]["status"] == "completed"
    actions = [(e["action"], e["result"]) for e in services.audit.list(50)[0] if e["resource"] == f"user:{a}"]
    assert ("erasure", "succeeded") in actions and ("erasure.confirm", "accepted") in actions
    assert ("erasure.plan", "succeeded") in actions
    done = _cli(tenant.env, "erase", "--user", a)  # nothing of theirs is left to erase
    assert done.returncode == 2 and "nothing of user" in done.stderr


def test_an_immutable_blob_waits_and_a_later_run_removes_it_once_protection_ends(tenant: Tenant):
    services, c = tenant.services, tenant.user(2)["id"]
    policies = services.immutability = ProtectedBlobs()
    unique = sorted(_blobs_of(tenant, c) - _blobs_of(tenant, tenant.user(1)["id"]))
    held_back = unique[0]
    journal_blob = sorted(find_journal_blobs(services, person_keys(c)).rows)[0]
    later = datetime.now(UTC) + timedelta(days=1)
    for name in (*services.content.stored_names(held_back), journal_blob):
        policies.until[name] = later
    plan = plan_erasure(services, c)
    assert plan.protected == 1
    report = erase(services, c, plan.code, ADMIN)
    assert report["status"] == "pending" and report["blobs_pending"] == 1 and report["journal_pending"] == 1
    assert services.content.exists(held_back) and not any(services.content.exists(s) for s in unique[1:])
    assert services.erasures.pending_blobs(c) == {held_back}
    assert not list(services.catalog.all_versions(f"exchange:{c}"))  # the rows are gone all the same
    still = finish_pending(services, ADMIN)  # before the protection ends: nothing more goes
    assert [r["status"] for r in still] == ["pending"] and services.content.exists(held_back)
    again = plan_erasure(services, c)  # a rerun's plan shows what is pending
    assert again.pending_blobs == {held_back} and again.pending_journal == {journal_blob} and not again.resources
    after = later + timedelta(hours=1)
    final = erase(services, c, again.code, ADMIN, now=after)
    assert final["status"] == "completed" and final["blobs_removed"] == 1 and final["journal_removed"] == 1
    assert not services.content.exists(held_back) and not services.erasures.pending_blobs(c)
    assert not find_journal_blobs(services, person_keys(c)).rows
