"""Contacts end to end: backed up with the mailbox (same resource, same Graph budget), restored with their photo,
equal to the originals on every property the simulator holds."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import vobject

from core.exports.contacts_export import export_contacts_vcf
from core.restore import restore
from core.restore_request import RestoreRequest
from core.workloads.exchange.contacts_backup import CONTACT
from tests.integration.tenant import Tenant, open_tenant


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=4, seed=17, contacts=8)
    yield t
    t.close()


def sim_contacts(tenant: Tenant) -> dict[str, dict]:
    return {c["id"]: c for c in tenant.user(0)["contacts"]}


def test_contacts_back_up_incrementally_and_restore_equal_with_their_photo(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    before = sim_contacts(tenant)
    captured = {v.item_id: v for v in tenant.services.catalog.as_of(resource, CONTACT, first["run_id"])}
    assert set(captured) == set(before)  # every folder, the default one, its children and the ones beside it
    with_photo = [c for c in before.values() if c.get("photo_sha256")]
    assert with_photo, "the simulator seeds a contact with a photo"
    photo_blob = json.loads(captured[with_photo[0]["id"]].extra)["photo"]
    assert photo_blob == with_photo[0]["photo_sha256"]

    control = tenant.sim.control
    ids = sorted(before)
    control.update_contact(user, ids[0], {"jobTitle": "Chief Tester"})
    control.delete_contact(user, with_photo[0]["id"])
    control.reset_stats()
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    now = {v.item_id for v in tenant.services.catalog.as_of(resource, CONTACT, second["run_id"])}
    assert now == set(sim_contacts(tenant))
    assert tenant.sim.control.stats()["by_kind"]["photo"] <= 1  # only the changed contact was looked at again

    report = restore(
        tenant.services,
        RestoreRequest(resource, run_id=first["run_id"], item_ids=(with_photo[0]["id"],), category="contact"),
    )
    assert (report.restored, report.failed) == (1, 0)
    back = sim_contacts(tenant)[report.items[0]["new_id"]]
    assert back["sha256"] == with_photo[0]["sha256"]  # every property equal
    assert back["photo_sha256"] == with_photo[0]["photo_sha256"]
    assert back["folder_id"] == with_photo[0]["folder_id"]
    again = restore(
        tenant.services,
        RestoreRequest(resource, run_id=first["run_id"], item_ids=(ids[1],), category="contact"),
    )
    assert again.skipped == 1  # still there: skipped


def test_all_contacts_restore_into_a_new_folder(tenant: Tenant):
    user = tenant.user(0)["id"]
    tenant.backup()
    before = sim_contacts(tenant)
    report = restore(
        tenant.services,
        RestoreRequest(f"exchange:{user}", whole=True, destination="new-folder", category="contact"),
    )
    assert report.restored == len(before) and report.failed == 0
    new = [c for c in sim_contacts(tenant).values() if c["id"] not in before]
    assert sorted(c["sha256"] for c in new) == sorted(c["sha256"] for c in before.values())


def test_contacts_export_as_vcf_parses_back(tenant: Tenant):
    user = tenant.user(0)["id"]
    tenant.backup()
    out = io.BytesIO()
    result = export_contacts_vcf(tenant.services, f"exchange:{user}", None, out)
    cards = list(vobject.readComponents(out.getvalue().decode()))
    assert result["contacts"] == len(cards) == len(sim_contacts(tenant))
    names = {c.fn.value for c in cards}
    assert names == {c["displayName"] for c in sim_contacts(tenant).values()}
    assert any(hasattr(c, "photo") for c in cards)
