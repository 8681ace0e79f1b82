"""Storage writes whose answer is lost (the connection reset after the request reached Azurite): an upsert or a
batch of upserts is sent again, an insert is looked up before it is sent again, and nothing is written twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.core.exceptions import ResourceExistsError

from core.config import load_settings
from core.storage.audit_log import AuditEntry, AuditLog
from core.storage.catalog import Catalog, ItemVersion
from core.storage.delta_state import DeltaState, DeltaStateStore
from core.storage.runs import RunStore
from core.storage.tables import create_row_once, table_clients
from tests.conftest import isolated_storage
from tests.integration.dropping_proxy import DroppingProxy

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}


@pytest.fixture
def proxy(azurite) -> Iterator[DroppingProxy]:
    relay = DroppingProxy(azurite.table_port)
    yield relay
    relay.close()


@pytest.fixture
def tables(azurite, proxy):
    env = isolated_storage(azurite)
    direct = f"127.0.0.1:{azurite.table_port}/"
    env["BACKUP_STORAGE_CONNECTION_STRING"] = env["BACKUP_STORAGE_CONNECTION_STRING"].replace(
        direct, f"127.0.0.1:{proxy.port}/"
    )
    return table_clients(load_settings({**SECRETLESS, **env}))


def test_an_upsert_whose_answer_is_lost_is_sent_again(tables, proxy):
    runs = RunStore(tables["runs"], tables["restorepoints"])
    proxy.drop("PATCH")
    runs.start("20261201T000000000000Z", "timer")
    assert proxy.dropped["PATCH"] == 1
    assert runs.get("20261201T000000000000Z")["status"] == "running"

    state = DeltaStateStore(tables["deltastate"])
    proxy.drop("PUT")
    state.save("exchange:u1", DeltaState("mail", "inbox", "https://graph/delta?token=1", "/Inbox", "r1"))
    assert proxy.dropped["PUT"] == 1
    assert state.load("exchange:u1")[("mail", "inbox")].delta_link == "https://graph/delta?token=1"


def test_a_catalog_transaction_whose_answer_is_lost_is_committed_once(tables, proxy):
    catalog = Catalog(tables["catalog"])
    writer = catalog.writer("exchange:u1")
    for n in range(5):
        writer.put(ItemVersion("mail", f"m{n}", "r1", folder_id="inbox", name=f"message {n}"))
    proxy.drop("POST")
    writer.flush()
    assert proxy.dropped["POST"] == 1
    assert writer.committed == 5
    assert sorted(catalog.open_index("exchange:u1", "mail")) == [f"m{n}" for n in range(5)]


def test_an_insert_whose_answer_is_lost_is_looked_up_not_repeated(tables, proxy):
    audit = AuditLog(tables["audit"])
    proxy.drop("POST")
    audit.append(AuditEntry("oid-1", "adele", ("Restore.Operator",), "restore", "accepted", "exchange:u1"))
    assert proxy.dropped["POST"] == 1
    entries, _ = audit.list()
    assert [(e["actor"], e["action"]) for e in entries] == [("oid-1", "restore")]


def test_an_insert_over_a_different_row_is_still_a_conflict(tables, proxy):
    row = {"PartitionKey": "job-1", "RowKey": "job", "status": "accepted"}
    create_row_once(tables["restorejobs"], row)
    proxy.drop("POST")  # the second insert is refused (409) but its answer is lost: the row is read
    with pytest.raises(ResourceExistsError):
        create_row_once(tables["restorejobs"], {**row, "status": "running"})
    assert proxy.dropped["POST"] == 1
    assert tables["restorejobs"].get_entity("job-1", "job")["status"] == "accepted"
