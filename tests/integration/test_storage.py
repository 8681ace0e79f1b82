"""The storage adapters against a real Azurite: write-once content, the catalog's as-of reconstruction, runs."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

from core.config import load_settings
from core.errors import ContentIntegrityError, InvalidRequestError, NotFoundError
from core.storage.catalog import Catalog, ItemVersion
from core.storage.content_store import BlobContentStore, Spool, blob_name
from core.storage.delta_state import DeltaState, DeltaStateStore
from core.storage.runs import RunStore
from core.storage.tables import table_clients

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}


@pytest.fixture
def container(storage_env):
    service = BlobServiceClient.from_connection_string(storage_env["BACKUP_STORAGE_CONNECTION_STRING"])
    return service.get_container_client(storage_env["BACKUP_CONTAINER"])


@pytest.fixture
def tables(storage_env):
    return table_clients(load_settings({**SECRETLESS, **storage_env}))


def test_content_is_addressed_by_sha256_and_written_once(container):
    store = BlobContentStore(container)
    store.ensure_container()
    data = "Grüße, world".encode() * 1000
    first = store.put_bytes(data)
    again = store.put_bytes(data)
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert (first.written, again.written) == (True, False)  # deduplicated, not rewritten
    assert store.counts() == {"blobs": 1, "bytes": len(data), "stored_bytes": len(data), "deduplicated": 1}
    assert store.read(first.sha256) == data
    assert [b.name for b in container.list_blobs()] == [blob_name(first.sha256)]


def test_the_content_blob_refuses_an_overwrite(container):
    """Write-once proven against the emulator: the service itself rejects a second write of the same name."""
    store = BlobContentStore(container)
    store.ensure_container()
    stored = store.put_bytes(b"original content")
    blob = container.get_blob_client(blob_name(stored.sha256))
    with pytest.raises(ResourceExistsError):
        blob.upload_blob(b"something else", overwrite=False)
    assert store.read(stored.sha256) == b"original content"


def test_content_that_does_not_match_its_address_is_refused_on_read(container):
    store = BlobContentStore(container)
    store.ensure_container()
    fake_address = hashlib.sha256(b"expected").hexdigest()
    container.get_blob_client(blob_name(fake_address)).upload_blob(b"tampered")
    with pytest.raises(ContentIntegrityError):
        store.read(fake_address)
    with pytest.raises(NotFoundError):
        store.read(hashlib.sha256(b"never stored").hexdigest())


def test_spool_spills_to_disk_and_restarts_cleanly(container):
    store = BlobContentStore(container)
    store.ensure_container()
    big = bytes(range(256)) * (5 * 4096 + 7)  # > 4 MiB in-memory threshold
    with Spool() as spool:
        spool.write(b"partial download that broke off")
        spool.restart()
        for i in range(0, len(big), 65536):
            spool.write(big[i : i + 65536])
        stored = store.put(spool)
    assert stored.sha256 == hashlib.sha256(big).hexdigest() and stored.size == len(big)
    assert store.read(stored.sha256) == big


def test_catalog_reconstructs_a_resource_as_of_any_run(tables):
    catalog = Catalog(tables["catalog"])
    resource = "exchange:user/with#odd?chars"
    w = catalog.writer(resource)
    w.put(ItemVersion("mail", "m1", "r1", folder_id="f1", folder_path="Inbox", content_hash="a" * 64, name="one"))
    w.put(ItemVersion("mail", "m/2", "r1", folder_id="f1", folder_path="Inbox", content_hash="b" * 64, name="two"))
    w.flush()
    # r2: m1 changed (new version), m/2 deleted
    w.close("mail", "m1", "r1", "r2")
    w.put(ItemVersion("mail", "m1", "r2", folder_id="f1", folder_path="Inbox", content_hash="c" * 64, name="one'"))
    w.close("mail", "m/2", "r1", "r2")
    w.flush()

    def names(run: str) -> set[str]:
        return {v.name for v in catalog.as_of(resource, "mail", run)}

    assert names("r1") == {"one", "two"}
    assert names("r2") == {"one'"}
    assert names("r3") == {"one'"}
    assert names("r0") == set()
    assert [v.content_hash[0] for v in catalog.history(resource, "mail", "m1")] == ["a", "c"]
    index = catalog.open_index(resource, "mail")
    assert set(index) == {"m1"} and index["m1"].first_seen_run == "r2"


def test_catalog_writer_commits_large_batches_atomically_in_chunks(tables):
    catalog = Catalog(tables["catalog"])
    w = catalog.writer("exchange:u")
    for i in range(250):
        w.put(ItemVersion("mail", f"m{i}", "r1", content_hash="d" * 64))
    w.put(ItemVersion("mail", "m0", "r1", content_hash="e" * 64, name="replaced in the same run"))
    w.flush()
    assert w.committed == 251
    index = catalog.open_index("exchange:u", "mail")
    assert len(index) == 250 and index["m0"].content_hash == "e" * 64


def test_one_catalog_writer_takes_changes_from_several_threads_at_once(tables):
    """A mailbox's kinds write to one writer side by side: every change is committed once, each thread's in the
    order it wrote them (the last write of an item wins)."""
    catalog = Catalog(tables["catalog"])
    w = catalog.writer("exchange:u")

    def write(category: str) -> None:
        for i in range(120):
            w.put(ItemVersion(category, f"{category}{i % 60}", "r1", content_hash=f"{i // 60}" * 64))
            if i % 25 == 0:
                w.flush()  # a bound's commit in one thread while the other writes

    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(write, "mail"), pool.submit(write, "contact")]:
            done.result()
    w.flush()
    assert w.committed == 240 and w.dropped == 0
    for category in ("mail", "contact"):
        index = catalog.open_index("exchange:u", category)
        assert len(index) == 60 and {v.content_hash for v in index.values()} == {"1" * 64}, category


def test_delta_state_keeps_the_whole_link(tables):
    store = DeltaStateStore(tables["deltastate"])
    link = "https://graph.example/v1.0/users/u/mailFolders/f%2F1/messages/delta?$deltatoken=abc&x=1"
    store.save("exchange:u", DeltaState("mail", "f/1", link, "Inbox", "r1"))
    assert store.load("exchange:u")[("mail", "f/1")].delta_link == link
    store.forget("exchange:u", "mail", "f/1", "r2")
    assert store.load("exchange:u") == {}


def test_restore_points_resolve_by_run_or_time(tables):
    from datetime import UTC, datetime

    runs = RunStore(tables["runs"], tables["restorepoints"])
    ok = {"resource": "exchange:u", "status": "succeeded", "items": 1}
    runs.record_point("20261122T060000000000Z", ok, [])
    runs.record_point("20261122T070000000000Z", {**ok, "status": "failed"}, [{"item": "x", "error": "boom"}])
    runs.record_point("20261122T080000000000Z", {**ok, "status": "partial"}, [])
    assert runs.resolve_point("exchange:u") == "20261122T080000000000Z"
    assert runs.resolve_point("exchange:u", at=datetime(2026, 11, 22, 7, 30, tzinfo=UTC)) == "20261122T060000000000Z"
    with pytest.raises(NotFoundError):
        runs.resolve_point("exchange:u", run_id="20261122T070000000000Z")  # that run failed for it
    with pytest.raises(InvalidRequestError, match="before the first backup"):
        runs.resolve_point("exchange:u", at=datetime(2026, 11, 21, tzinfo=UTC))
    with pytest.raises(NotFoundError):
        runs.resolve_point("exchange:nobody")
    assert runs.points("exchange:u")[1]["failures"] == [{"item": "x", "error": "boom"}]
