"""Content compressed and encrypted with the customer's key (core/storage/content_store.py, core/keys/), against a
real Azurite with the local key provider: round trips small and larger than a segment, keyed names that are not
the digests and carry no digest, dedup as before (one blob for a message two mailboxes hold), a wrong key refused
naming the key, rotation that re-wraps keys without touching a content blob, old plain content readable after
encryption is turned on and encrypted content after it is turned off, and verify finding a corrupted and a missing
encrypted blob."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient

from core.bootstrap import build_services
from core.config import load_settings
from core.errors import ContentIntegrityError, ContentKeyError, NotFoundError
from core.keys.keyring import KeyRing
from core.keys.local_provider import LocalKeyFile
from core.storage.content_store import KEYED, BlobContentStore, ContentFormat, Spool, blob_name
from core.verify import verify, verify_resource
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant
from tests.integration.test_cli import _cli

TEXT = "Grüße: the team agreed to move forward with the plan review before friday. ".encode() * 400


@pytest.fixture
def container(storage_env):
    service = BlobServiceClient.from_connection_string(storage_env["BACKUP_STORAGE_CONNECTION_STRING"])
    client = service.get_container_client(storage_env["BACKUP_CONTAINER"])
    client.create_container()
    return client


def store(container, key_file, encrypt=True, compress=True) -> BlobContentStore:
    keys = KeyRing(container, LocalKeyFile(key_file)) if key_file else None
    return BlobContentStore(container, ContentFormat(compress=compress, encrypt=encrypt, keys=keys))


def content_blobs(container) -> dict[str, dict]:
    return {
        b.name: {"etag": b.etag, "size": b.size, "metadata": b.metadata}
        for b in container.list_blobs(include=["metadata"])
        if not b.name.startswith(("keys/", "journal/"))
    }


def test_round_trip_small_and_large_with_keyed_names_and_dedup(container, tmp_path):
    content = store(container, tmp_path / "key.json")
    large = os.urandom(6 << 20) + TEXT * 100  # more than one 4 MiB segment even compressed; part compressible
    with Spool() as spool:
        for i in range(0, len(large), 1 << 20):
            spool.write(large[i : i + (1 << 20)])
        big = content.put(spool)
    small = content.put_bytes(TEXT, content_type="message/rfc822")
    again = content.put_bytes(TEXT)
    assert (big.written, small.written, again.written) == (True, True, False)  # the same content: one blob
    assert content.read(small.sha256) == TEXT
    assert b"".join(content.iter_chunks(big.sha256)) == large
    blobs = content_blobs(container)
    assert len(blobs) == 2 and all(name.startswith(KEYED) for name in blobs)
    assert max(b["size"] for b in blobs.values()) > (4 << 20) + 2 * 16  # two sealed segments
    digests = {small.sha256, big.sha256}
    assert not any(d in name for name in blobs for d in digests)  # the names reveal nothing
    assert all(not b["metadata"] for b in blobs.values())  # and neither does metadata
    assert content.counts()["stored_bytes"] < len(TEXT) + len(large)  # the text part compressed
    names = content.stored_names(small.sha256)  # what purge and erasure remove: every format's name
    assert blob_name(small.sha256) in names and content.write_name(small.sha256) in names
    written = container.download_blob(content.write_name(small.sha256)).readall()
    assert written.startswith(b"M3BK") and b"move forward" not in written


def test_a_wrong_key_is_refused_naming_the_key(container, tmp_path):
    stored = store(container, tmp_path / "right.json").put_bytes(TEXT)
    with pytest.raises(ContentKeyError, match=r"key 'naming' is wrapped by local KEK v1 and the key file .* not exist"):
        store(container, tmp_path / "lost.json").read(stored.sha256)
    LocalKeyFile(tmp_path / "wrong.json").newest_version()  # another key file, with a v1 of its own
    with pytest.raises(ContentKeyError, match=r"key 'naming' cannot be unwrapped by local KEK v1 .*wrong key"):
        store(container, tmp_path / "wrong.json").read(stored.sha256)
    done_without = store(container, None, encrypt=False, compress=False)
    with pytest.raises(NotFoundError, match="only with its key configured"):  # no key: no keyed name to look for
        done_without.read(stored.sha256)


def test_rotation_rewraps_keys_and_leaves_every_content_blob_as_it_was(container, tmp_path):
    key_file = tmp_path / "key.json"
    content = store(container, key_file)
    items = [content.put_bytes(TEXT + bytes([n])) for n in range(3)]
    before = content_blobs(container)
    provider = LocalKeyFile(key_file)
    assert provider.add_version() == "v2"
    result = KeyRing(container, provider).rewrap()
    data_key_id = content.keys.current_data_key()[0]
    assert result["kek_version"] == "v2" and sorted(result["rewrapped"]) == [data_key_id, "naming"]
    assert KeyRing(container, provider).rewrap()["rewrapped"] == []  # idempotent
    provider.remove_version("v1")  # what an operator may do once every key is re-wrapped
    fresh = store(container, key_file)  # a new process: nothing cached
    assert [fresh.read(i.sha256) for i in items] == [TEXT + bytes([n]) for n in range(3)]
    assert content_blobs(container) == before  # no content blob rewritten: same names, bytes and etags
    status = fresh.keys.status()
    assert status["newest_version"] == "v2" and status["behind"] == 0
    assert {k["key_id"]: k["records"] for k in status["keys"]}["naming"] == 2


def test_formats_change_and_earlier_content_stays_readable(container, tmp_path):
    key_file = tmp_path / "key.json"
    plain = store(container, None, encrypt=False, compress=False).put_bytes(b"written before encryption")
    zstd = store(container, None, encrypt=False, compress=True).put_bytes(TEXT + b"compressed only")
    encrypted = store(container, key_file)
    assert encrypted.read(plain.sha256) == b"written before encryption"
    assert encrypted.read(zstd.sha256) == TEXT + b"compressed only"
    sealed = encrypted.put_bytes(b"written encrypted")
    turned_off = store(container, key_file, encrypt=False, compress=False)  # the key provider still configured
    assert turned_off.read(sealed.sha256) == b"written encrypted" and turned_off.exists(sealed.sha256)
    assert store(container, None, encrypt=False, compress=False).read(plain.sha256) == b"written before encryption"


def test_a_blob_changed_behind_the_apps_back_fails_authentication(container, tmp_path):
    content = store(container, tmp_path / "key.json", compress=False)
    stored = content.put_bytes(TEXT)
    name = content.write_name(stored.sha256)
    data = bytearray(container.download_blob(name).readall())
    data[-40] ^= 0x20
    container.upload_blob(name, bytes(data), overwrite=True)
    with pytest.raises(ContentIntegrityError, match=r"fails authentication under data key 'dk-\d{6}'"):
        store(container, tmp_path / "key.json").read(stored.sha256)


# -- a tenant backed up encrypted ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    state = tmp_path_factory.mktemp("encrypted")
    settings = {"BACKUP_WORKLOADS": "exchange", "CONTENT_COMPRESSION": "zstd", "CONTENT_ENCRYPTION": "local",
                "CONTENT_LOCAL_KEY_FILE": str(state / "content-key.json")}  # fmt: skip
    # 8 messages each: message 7 is a broadcast, the same MIME in both mailboxes
    t = open_tenant(state / "sim", isolated_storage(azurite), settings, users=2, messages=8, seed=41, contacts=0,
                    events=0, tasks=0, archive_messages=0)  # fmt: skip
    assert t.backup()["status"] == "succeeded"
    yield t
    t.close()


def test_two_mailboxes_with_the_same_message_share_one_encrypted_blob(tenant: Tenant):
    services = tenant.services
    hashes: dict[str, set[str]] = {}
    for resource in sorted(services.runs.resources()):
        run_id = services.runs.resolve_point(resource)
        hashes[resource] = {v.content_hash for v in services.catalog.as_of(resource, "mail", run_id)}
    assert len(hashes) == 2
    shared = set.intersection(*hashes.values())
    assert shared  # the broadcast
    names = [b.name for b in services.content._container.list_blobs(name_starts_with=KEYED)]
    assert tenant.blob_count() == len(names) == len(set.union(*hashes.values()))  # each content stored once
    every = set.union(*hashes.values())
    assert not any(h in n for h in every for n in names)
    assert not list(services.content._container.list_blobs(name_starts_with="sha256/"))
    assert verify(services)["status"] == "ok"


def test_the_keys_commands_report_and_rotate(tenant: Tenant):
    done = _cli(tenant.env, "keys", "status")
    assert done.returncode == 0, done.stderr
    assert "newest version v1" in done.stdout and "naming: 1 record(s), wrapped by v1 (current)" in done.stdout
    done = _cli(tenant.env, "keys", "rotate")
    assert done.returncode == 0, done.stderr
    assert "new local KEK version v2; re-wrapped under v2: dk-" in done.stdout and "naming" in done.stdout
    done = _cli(tenant.env, "keys", "status")
    assert done.returncode == 0 and "wrapped by v2 (current)" in done.stdout and "v1" not in done.stdout
    done = _cli({k: v for k, v in tenant.env.items() if not k.startswith("CONTENT_")}, "keys", "status")
    assert done.returncode == 2 and "no content key is configured" in done.stderr


def test_verify_with_the_wrong_key_calls_every_blob_unreadable_and_names_the_key(tenant: Tenant, tmp_path):
    wrong = build_services(load_settings({**tenant.env, "CONTENT_LOCAL_KEY_FILE": str(tmp_path / "other.json")}))
    try:
        LocalKeyFile(tmp_path / "other.json").newest_version()  # a key file, but not the one that wrapped the keys
        result = verify_resource(wrong, sorted(wrong.runs.resources())[0])
    finally:
        wrong.close()
    assert result.checked == result.unreadable > 0 and result.corrupted == result.missing == 0
    assert all("ContentKeyError" in p["detail"] and "'naming'" in p["detail"] for p in result.problems)


def test_verify_finds_a_corrupted_and_a_missing_encrypted_blob(tenant: Tenant):
    services = tenant.services
    mailbox = sorted(services.runs.resources())[0]
    run_id = services.runs.resolve_point(mailbox)
    messages = sorted(services.catalog.as_of(mailbox, "mail", run_id), key=lambda v: v.item_id)
    others = {v.content_hash for r in services.runs.resources() if r != mailbox
              for v in services.catalog.as_of(r, "mail", services.runs.resolve_point(r))}  # fmt: skip
    gone, damaged = [v for v in messages if v.content_hash not in others][:2]
    container = services.content._container
    container.delete_blob(services.content.write_name(gone.content_hash))  # behind the app's back
    name = services.content.write_name(damaged.content_hash)
    data = bytearray(container.download_blob(name).readall())
    data[len(data) // 2] ^= 1
    container.upload_blob(name, bytes(data), overwrite=True)
    result = verify(services, [mailbox])
    assert (result["missing"], result["corrupted"], result["unreadable"]) == (1, 1, 0)
    problems = {(p["problem"], p["sha256"]) for p in result["problems"]}
    assert problems == {("missing", gone.content_hash), ("corrupted", damaged.content_hash)}
    assert any("fails authentication" in p["detail"] for p in result["problems"] if p["problem"] == "corrupted")
