"""Verification (core/verify.py): every blob a retained version needs is read back and re-hashed; a blob deleted or
rewritten behind the app's back is found and named with the item that needs it; a sample checks a share of the
blobs; the CLI says so in one line per resource and exits 4; the record is kept for the API and dashboard."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from core.errors import InvalidRequestError, NotFoundError
from core.storage.content_store import blob_name
from core.verify import check_fraction, sampled, verify, verify_resource
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant
from tests.integration.test_cli import _cli


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_WORKLOADS": "exchange,onedrive"}
    t = open_tenant(tmp_path_factory.mktemp("verify") / "sim", isolated_storage(azurite), settings, users=2,
                    messages=5, seed=29, contacts=2, events=2, drive_files=3, tasks=0)  # fmt: skip
    assert t.backup()["status"] == "succeeded"
    yield t
    t.close()


def test_an_intact_backup_verifies_every_blob_it_references(tenant: Tenant):
    summary = verify(tenant.services)
    assert summary["status"] == "ok" and summary["missing"] == summary["corrupted"] == summary["unreadable"] == 0
    assert summary["resources"] == len(tenant.services.runs.resources()) >= 4  # 2 mailboxes, their OneDrives, ...
    assert summary["checked"] == summary["blobs"] > 0 and summary["bytes"] > 0
    # every blob of the store is needed by some version (the backup writes nothing else), and a blob two resources
    # share (the same attachment in two mailboxes) is read for each of them
    assert summary["blobs"] >= tenant.blob_count()
    assert tenant.services.runs.verifications.latest(1)[0]["verification_id"] == summary["verification_id"]


def test_a_sample_checks_a_share_that_changes_with_the_seed():
    shas = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(2000)]
    first = {s for s in shas if sampled(s, 0.25, "seed-a")}
    assert 400 < len(first) < 600  # a quarter, give or take
    assert first == {s for s in shas if sampled(s, 0.25, "seed-a")}  # reproducible for one seed
    assert first != {s for s in shas if sampled(s, 0.25, "seed-b")}  # another verification, another share
    assert all(sampled(s, 1.0, "x") for s in shas[:10])
    assert check_fraction(10) == 0.1
    for bad in (0, -5, 101):
        with pytest.raises(InvalidRequestError, match="percent"):
            check_fraction(bad)


def test_a_sampled_verification_reads_fewer_blobs(tenant: Tenant):
    resource = sorted(tenant.services.runs.resources())[0]
    whole = verify_resource(tenant.services, resource, 1.0, seed="s")
    part = verify_resource(tenant.services, resource, 0.3, seed="s")
    assert part.blobs == whole.blobs and part.checked < whole.checked == whole.blobs


def test_a_deleted_and_a_rewritten_blob_are_found_and_named(tenant: Tenant):
    services = tenant.services
    mailbox = next(r for r in sorted(services.runs.resources()) if r.startswith("exchange:"))
    run_id = services.runs.resolve_point(mailbox)
    messages = sorted(services.catalog.as_of(mailbox, "mail", run_id), key=lambda v: v.item_id)
    gone, damaged = messages[0], messages[1]
    container = services.content._container
    container.delete_blob(blob_name(gone.content_hash))  # behind the app's back
    container.upload_blob(blob_name(damaged.content_hash), b"not the message", overwrite=True)

    done = _cli(tenant.env, "verify", "--resource", mailbox)
    assert done.returncode == 4, done.stderr
    assert f"{mailbox}:" in done.stdout and "1 missing, 1 corrupted, 0 unreadable" in done.stdout
    assert f"missing: {mailbox} mail {gone.item_id}" in done.stderr
    assert f"corrupted: {mailbox} mail {damaged.item_id}" in done.stderr

    listed = json.loads(_cli(tenant.env, "verifications", "--json", "--limit", "1").stdout)[0]
    assert listed["status"] == "problems" and listed["resources"] == 1
    assert {(p["problem"], p["item_id"], p["sha256"]) for p in listed["problems"]} == {
        ("missing", gone.item_id, gone.content_hash),
        ("corrupted", damaged.item_id, damaged.content_hash),
    }
    other = next(r for r in sorted(services.runs.resources()) if r != mailbox)
    assert verify(services, [other])["status"] == "ok"  # the other resources do not share the damage


def test_bad_verify_requests_get_one_line_errors(tenant: Tenant):
    with pytest.raises(NotFoundError, match="no backup of exchange:nobody"):
        verify(tenant.services, ["exchange:nobody"])
    done = _cli(tenant.env, "verify", "--sample", "0")
    assert done.returncode == 2 and "more than 0 and at most 100 percent" in done.stderr
    done = _cli(tenant.env, "verify", "--sample", "lots")
    assert done.returncode == 2 and "not a percentage: 'lots'" in done.stderr
