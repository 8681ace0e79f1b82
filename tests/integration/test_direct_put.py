"""Small content written by a directly signed Put Blob (core/storage/direct_put.py) against a real Azurite, which
checks Shared Key signatures: the blob is the one the SDK would have written, a repeat is a dedup, and any answer
that is not definite hands the write to the SDK."""

from __future__ import annotations

import base64
import hashlib

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from core.bootstrap import direct_puts, direct_transactions
from core.config import load_settings
from core.keys.keyring import KeyRing
from core.keys.local_provider import LocalKeyFile
from core.storage.content_store import BlobContentStore, ContentFormat, blob_name
from core.storage.direct_auth import signer_for
from core.storage.direct_put import DirectPut
from core.storage.journal import Journal
from core.storage.tables import container_client, table_clients
from tests.integration.dropping_proxy import DroppingProxy


@pytest.fixture
def container(storage_env) -> ContainerClient:
    service = BlobServiceClient.from_connection_string(storage_env["BACKUP_STORAGE_CONNECTION_STRING"])
    client = service.get_container_client(storage_env["BACKUP_CONTAINER"])
    client.create_container()
    return client


def _wrong_key(storage_env) -> ContainerClient:
    connection = storage_env["BACKUP_STORAGE_CONNECTION_STRING"]
    fields = dict(part.split("=", 1) for part in connection.split(";") if part)
    fields["AccountKey"] = base64.b64encode(b"not the account key").decode()
    wrong = ";".join(f"{k}={v}" for k, v in fields.items())
    return BlobServiceClient.from_connection_string(wrong).get_container_client(storage_env["BACKUP_CONTAINER"])


def test_a_direct_put_writes_the_blob_the_sdk_would_and_a_repeat_is_a_dedup(container):
    direct = DirectPut.for_container(container)
    assert direct is not None
    store = BlobContentStore(container, direct=direct)
    data = b"From: a@contoso.com\r\nSubject: hi\r\n\r\nbody " * 50
    first = store.put_bytes(data, "message/rfc822")
    again = store.put_bytes(data, "message/rfc822")
    assert (first.written, again.written) == (True, False)
    assert store.counts() == {"blobs": 1, "bytes": len(data), "stored_bytes": len(data), "deduplicated": 1}
    properties = container.get_blob_client(blob_name(first.sha256)).get_blob_properties()
    assert properties.content_settings.content_type == "message/rfc822"
    assert properties.metadata == {"sha256": hashlib.sha256(data).hexdigest()}
    assert properties.blob_type == "BlockBlob" and properties.size == len(data)
    assert store.read(first.sha256) == data
    assert direct.handed_back == 0  # both answers were definite: the SDK sent nothing


def test_compressed_and_encrypted_content_is_written_directly_and_reads_back(container, tmp_path):
    keys = KeyRing(container, LocalKeyFile(tmp_path / "key.json"))
    direct = DirectPut.for_container(container)
    store = BlobContentStore(container, ContentFormat(compress=True, encrypt=True, keys=keys), direct)
    data = "Grüße ".encode() * 3000
    stored = store.put_bytes(data)
    assert stored.written and direct.handed_back == 0
    names = [b.name for b in container.list_blobs(name_starts_with="keyed/")]
    assert len(names) == 1
    properties = container.get_blob_client(names[0]).get_blob_properties()
    assert properties.metadata == {}  # a keyed blob carries no digest
    assert store.read(stored.sha256) == data


def test_a_refused_signature_hands_the_put_to_the_sdk_and_turns_the_path_off(container, storage_env, caplog):
    direct = DirectPut.for_container(_wrong_key(storage_env))
    assert direct is not None
    store = BlobContentStore(container, direct=direct)  # the SDK's own client has the right key
    first = store.put_bytes(b"one")
    assert first.written and store.read(first.sha256) == b"one"
    assert (direct.enabled, direct.handed_back) == (False, 1)
    assert "refused a directly signed put (HTTP 403)" in caplog.text
    second = store.put_bytes(b"two")  # not tried directly again
    assert second.written and direct.handed_back == 1


def test_an_answer_that_is_not_definite_is_written_through_the_sdk(storage_env):
    """A put to a container that is not there answers 404 here; the SDK is asked, and its error is the one seen."""
    service = BlobServiceClient.from_connection_string(storage_env["BACKUP_STORAGE_CONNECTION_STRING"])
    missing = service.get_container_client("notmadeyet")
    direct = DirectPut.for_container(missing)
    store = BlobContentStore(missing, direct=direct)
    with pytest.raises(Exception, match="could not store content"):
        store.put_bytes(b"content")
    assert direct.handed_back == 1 and direct.enabled


def test_clients_it_cannot_sign_for_get_no_direct_path(container, monkeypatch):
    sas = ContainerClient.from_container_url(f"{container.url}?sv=2021-08-06&sig=abc")
    assert DirectPut.for_container(sas) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # the SDK honours a proxy; this path would not
    assert DirectPut.for_container(container) is None


def test_the_setting_turns_both_direct_paths_off(storage_env):
    secretless = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused", **storage_env}
    for value, expected in (("true", True), ("false", False)):
        settings = load_settings({**secretless, "BACKUP_STORAGE_DIRECT_WRITES": value})
        catalog = table_clients(settings)["catalog"]
        assert (direct_puts(settings, container_client(settings)) is not None) is expected
        assert (direct_transactions(settings, catalog) is not None) is expected
    assert load_settings(secretless).storage_direct_writes  # on unless turned off


def test_a_put_whose_answer_is_lost_is_asked_of_the_sdk_and_found_stored(azurite, container):
    """The put reached storage and was applied; its answer never came back. Not retried blindly here: the SDK sends
    it again, storage answers 409 (the same content is there), and the content is stored once."""
    proxy = DroppingProxy(azurite.blob_port)
    try:
        url = container.url.replace(f":{azurite.blob_port}/", f":{proxy.port}/")
        direct = DirectPut(url, container.api_version, signer_for(container.url, container.credential), 4)
        store = BlobContentStore(container, direct=direct)
        proxy.drop("PUT")
        stored = store.put_bytes(b"an answer that never came")
        assert proxy.dropped["PUT"] == 1 and direct.handed_back == 1 and direct.enabled
        assert not stored.written  # the SDK found it there: the write had happened
        assert store.read(stored.sha256) == b"an answer that never came"
        assert [b.name for b in container.list_blobs()] == [blob_name(stored.sha256)]
        again = store.put_bytes(b"the next one")  # the path stays on, a new connection
        assert again.written and direct.handed_back == 1
    finally:
        proxy.close()


def test_a_journal_blob_is_written_directly_and_replays(container):
    direct = DirectPut.for_container(container)
    journal = Journal(container, direct)
    name = journal.record("catalog", [("replace", {"PartitionKey": "u1", "RowKey": "mail|m1|r1", "name": "Grüße"})])
    assert direct.handed_back == 0
    assert container.get_blob_client(name).get_blob_properties().content_settings.content_type == "application/json"
    assert list(Journal(container).entries("catalog")) == [
        {
            "table": "catalog",
            "ops": [{"mode": "replace", "entity": {"PartitionKey": "u1", "RowKey": "mail|m1|r1", "name": "Grüße"}}],
        }
    ]
