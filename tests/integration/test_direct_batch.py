"""Catalog transactions sent as directly signed entity group transactions (core/storage/direct_batch.py) against a
real Azurite, which checks Shared Key signatures and applies a changeset all or nothing: the rows are the ones the
SDK would have written, and whatever is not a definite success goes through the SDK, with its errors."""

from __future__ import annotations

import base64
import logging

import pytest
from azure.data.tables import TableServiceClient

from core.config import load_settings
from core.errors import StorageError
from core.storage.catalog import Catalog, ItemVersion
from core.storage.delta_state import DeltaState, DeltaStateStore
from core.storage.direct_auth import signer_for
from core.storage.direct_batch import DirectTransaction
from core.storage.tables import table_clients
from tests.integration.dropping_proxy import DroppingProxy

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}


@pytest.fixture
def table(storage_env):
    return table_clients(load_settings({**SECRETLESS, **storage_env}))["catalog"]


def _version(n: int, **changes) -> ItemVersion:
    fields = {"category": "mail", "item_id": f"AAMk/{n}+x'y", "first_seen_run": "r1", "folder_id": "inbox"}
    return ItemVersion(**{**fields, "name": f"Grüße {n}", "size": 2**31 - 1, "is_read": True, **changes})


def _rows(table) -> list[dict]:
    return sorted((dict(e) for e in table.list_entities()), key=lambda e: e["RowKey"])


def test_a_direct_transaction_writes_the_rows_the_sdk_writes(storage_env, table):
    direct = DirectTransaction.for_table(table)
    assert direct is not None
    writer = Catalog(table, direct=direct).writer("user/1#a")  # key characters the catalog escapes
    for n in range(3):
        writer.put(_version(n))
    writer.close("mail", "AAMk/0+x'y", "r1", "r2")  # a merge beside the replaces, in a later transaction
    writer.flush()
    assert (writer.committed, direct.handed_back) == (4, 0)
    direct_rows = _rows(table)

    other = table_clients(load_settings({**SECRETLESS, **storage_env, "BACKUP_TABLE_PREFIX": "sdk" + "x" * 4}))
    sdk_writer = Catalog(other["catalog"]).writer("user/1#a")  # the SDK's way, into a table of its own
    for n in range(3):
        sdk_writer.put(_version(n))
    sdk_writer.close("mail", "AAMk/0+x'y", "r1", "r2")
    sdk_writer.flush()
    assert direct_rows == _rows(other["catalog"])
    assert len(direct_rows) == 3 and direct_rows[0]["deleted_run"] == "r2" and direct_rows[1]["name"] == "Grüße 1"
    assert set(Catalog(table).open_index("user/1#a", "mail")) == {"AAMk/1+x'y", "AAMk/2+x'y"}


def test_a_refused_operation_is_sent_through_the_sdk_and_fails_as_before(table):
    direct = DirectTransaction.for_table(table)
    writer = Catalog(table, direct=direct).writer("user1")
    writer.put(_version(1))
    writer.touch("mail", "x", "r1", size=2**70)  # not a 64-bit integer: the SDK's to refuse, with its error
    with pytest.raises((StorageError, TypeError)):
        writer.flush()
    assert direct.handed_back == 0  # never sent directly: it holds a value this path does not send
    writer.touch("mail", "x", "r1", name="x" * 70_000)  # over the 64 KiB a string property may hold
    with pytest.raises(StorageError, match="catalog transaction of 1 operations failed"):
        writer.flush()
    assert direct.handed_back == 1 and direct.enabled  # tried directly, refused there, then refused by the SDK
    assert _rows(table) == []  # all or nothing: nothing was applied


def test_a_refused_signature_hands_the_transaction_to_the_sdk_and_turns_the_path_off(storage_env, table, caplog):
    fields = dict(p.split("=", 1) for p in storage_env["BACKUP_STORAGE_CONNECTION_STRING"].split(";") if p)
    fields["AccountKey"] = base64.b64encode(b"not the account key").decode()
    wrong = TableServiceClient.from_connection_string(";".join(f"{k}={v}" for k, v in fields.items()))
    direct = DirectTransaction.for_table(wrong.get_table_client(table.table_name))
    writer = Catalog(table, direct=direct).writer("user1")
    writer.put(_version(1))
    with caplog.at_level(logging.WARNING):
        writer.flush()
    assert (direct.enabled, direct.handed_back, writer.committed) == (False, 1, 1)
    assert "refused a directly signed transaction (HTTP 403)" in caplog.text
    writer.put(_version(2))
    writer.flush()
    assert direct.handed_back == 1 and len(_rows(table)) == 2


def test_a_transaction_whose_answer_is_lost_is_sent_again_through_the_sdk(azurite, table):
    """Applied by storage, its answer lost on the way: the upserts are sent again (the SDK's way) and leave the same
    rows, once each."""
    proxy = DroppingProxy(azurite.table_port)
    try:
        url = table.url.replace(f":{azurite.table_port}/", f":{proxy.port}/")
        signer = signer_for(table.url, table.credential)
        direct = DirectTransaction(url, table.table_name, table.api_version, signer, 4)
        writer = Catalog(table, direct=direct).writer("user1")
        for n in range(3):
            writer.put(_version(n))
        proxy.drop("POST")
        writer.flush()
        assert proxy.dropped["POST"] == 1 and direct.handed_back == 1 and writer.committed == 3
        assert [row["name"] for row in _rows(table)] == ["Grüße 0", "Grüße 1", "Grüße 2"]
    finally:
        proxy.close()


def test_a_delta_link_is_saved_as_a_one_operation_transaction(storage_env):
    tables = table_clients(load_settings({**SECRETLESS, **storage_env}))
    direct = DirectTransaction.for_table(tables["deltastate"])
    store = DeltaStateStore(tables["deltastate"], direct)
    link = "https://graph.microsoft.com/v1.0/users/u1/mailFolders/inbox/messages/delta?$deltatoken=a%2Fb'c"
    store.save("exchange:user/1", DeltaState("mail", "AAMk/inbox=", link, "/Inbox", "r1"))
    store.save("exchange:user/1", DeltaState("mail", "AAMk/inbox=", link + "2", "/Inbox", "r2"))  # replaced
    assert direct.handed_back == 0
    saved = DeltaStateStore(tables["deltastate"]).load("exchange:user/1")  # read through the SDK
    assert saved == {("mail", "AAMk/inbox="): DeltaState("mail", "AAMk/inbox=", link + "2", "/Inbox", "r2")}
