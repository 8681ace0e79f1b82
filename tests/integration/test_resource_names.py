"""Names instead of GUIDs: discovery records each resource's names (the directory), and a UPN, a mail address or a
site URL given wherever a resource is named resolves to the object id's key (or is refused), so a backup by UPN
lands in the mailbox's own catalog, never in a second one under the address."""

from __future__ import annotations

import argparse
import json

import pytest

from core.errors import InvalidRequestError, NotFoundError
from core.resource_names import resolve_args, resource_arg, resource_key
from core.storage.directory import DirectoryEntry
from tests.integration.tenant import open_tenant
from tests.integration.test_cli import _cli

WORKLOADS = "exchange,sharepoint,groups"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite):
    from tests.conftest import isolated_storage

    settings = {"BACKUP_WORKLOADS": WORKLOADS, "BACKUP_ARCHIVE_MAILBOXES": "false"}
    t = open_tenant(tmp_path_factory.mktemp("names") / "sim", isolated_storage(azurite), settings, users=2,
                    messages=3, contacts=0, events=0, tasks=0, drive_files=1, sites=1, archive_messages=0)  # fmt: skip
    yield t
    t.close()


def _people(tenant) -> list[dict]:
    return [u for u in tenant.sim.control.state()["users"] if u["has_mailbox"]]


def test_names_resolve_through_graph_before_any_discovery(tenant):
    """With nothing discovered yet, a UPN (in any case) is read as /users/{upn} and a site URL as
    /sites/{host}:/{path}; an unknown name is refused, and a URL cannot name a mailbox."""
    adele = _people(tenant)[0]
    services = tenant.services
    assert services.directory.all() == {}
    assert resource_key(services, f"exchange:{adele['userPrincipalName'].upper()}") == f"exchange:{adele['id']}"
    site = tenant.sim.control.drives_state()["sites"][0]
    assert resource_key(services, f"sharepoint:{site['webUrl']}/") == f"sharepoint:{site['id']}"
    assert resource_key(services, f"exchange:{adele['id']}") == f"exchange:{adele['id']}"  # an id: no lookup
    with pytest.raises(NotFoundError, match="no user 'nobody@"):
        resource_key(services, "exchange:nobody@example.invalid")
    with pytest.raises(InvalidRequestError, match="site URL"):
        resource_key(services, f"exchange:{site['webUrl']}")


def test_discovery_names_every_resource_and_a_backup_by_upn_lands_in_the_id_catalog(tenant):
    people = _people(tenant)
    adele, other = people[0], people[1]
    env = {**tenant.env, "BACKUP_EXCLUDE_USERS": other["userPrincipalName"]}
    full = _cli(env, "backup", "--json")
    assert full.returncode in (0, 3), full.stderr
    names = tenant.services.directory.all()
    assert names[f"exchange:{adele['id']}"] == DirectoryEntry(
        f"exchange:{adele['id']}", adele["displayName"], adele["userPrincipalName"], adele["mail"], "", True
    )
    assert names[f"exchange:{other['id']}"].included is False  # discovered, left out by the selector
    site = tenant.sim.control.drives_state()["sites"][0]
    assert names[f"sharepoint:{site['id']}"].url == site["webUrl"]
    groups = [e for e in names.values() if e.workload == "groups"]
    assert groups and all(g.display_name and g.mail for g in groups)
    assert tenant.services.directory.record(list(names.values())) == 0  # unchanged: nothing written

    before = len(tenant.services.runs.points(f"exchange:{adele['id']}"))
    done = _cli(tenant.env, "backup", "--resource", f"exchange:{adele['mail'].upper()}", "--json")
    assert done.returncode == 0, done.stderr
    assert [r["resource"] for r in json.loads(done.stdout)["results"]] == [f"exchange:{adele['id']}"]
    assert len(tenant.services.runs.points(f"exchange:{adele['id']}")) == before + 1
    assert not any("@" in r for r in tenant.services.runs.resources())  # no catalog under an address

    points = _cli(tenant.env, "points", adele["userPrincipalName"], "--json")  # a bare UPN: a mailbox
    assert points.returncode == 0, points.stderr
    assert {p["resource"] for p in json.loads(points.stdout)} == {f"exchange:{adele['id']}"}
    group = groups[0]
    assert resource_key(tenant.services, f"groups:{group.mail}") == group.resource  # from the directory

    refused = _cli(tenant.env, "backup", "--resource", "exchange:nobody@example.invalid")
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0 and "no user 'nobody@example.invalid'" in refused.stderr


def test_a_restore_target_named_by_address_is_resolved_in_the_form_given(tenant):
    adele, other = _people(tenant)[:2]
    args = argparse.Namespace(resource=resource_arg(adele["mail"]), to_user=other["userPrincipalName"], run=None)
    resolve_args(tenant.services, args)
    assert (args.resource, args.to_user, args.run) == (f"exchange:{adele['id']}", other["id"], None)
    args = argparse.Namespace(resource=resource_arg(f"exchange:{adele['id']}"), to_user=f"exchange:{other['mail']}")
    resolve_args(tenant.services, args)
    assert args.to_user == f"exchange:{other['id']}"
    site = tenant.sim.control.drives_state()["sites"][0]
    assert resource_arg(site["webUrl"]) == f"sharepoint:{site['webUrl']}"  # a bare URL names a site


def test_rebuild_catalog_brings_the_names_back(tenant):
    """The directory is journaled like every runs-table write: rows lost with the table come back from the journal."""
    from core.rebuild_catalog import rebuild_catalog
    from core.storage.directory import DIRECTORY_PK
    from core.storage.tables import table_clients

    before = tenant.services.directory.all()
    assert before
    runs = table_clients(tenant.services.settings, create=False)["runs"]
    for row in list(runs.query_entities("PartitionKey eq @pk", parameters={"pk": DIRECTORY_PK})):
        runs.delete_entity(DIRECTORY_PK, row["RowKey"])  # lost behind the app's back: nothing journaled
    assert tenant.services.directory.all() == {}
    rebuild_catalog(tenant.services.settings)
    assert tenant.services.directory.all() == before
