"""Immutability that covers what retained points need (core/lifecycle/protection.py, the backup path's
core/lifecycle/dedup_protection.py), through the immutability seam: the local adapter (core/storage/
immutability_local.py) models the service against a real Azurite, which answers 501 to the real calls.

Time: blobs are written now (Azurite sets their creation time); points are given run ids days ahead and the renewal
is asked "as of" that time, which is what happens when a blob written long ago is referenced by a new point."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient

from core.bootstrap import Services, build_services
from core.config import load_settings
from core.errors import NotFoundError, StorageError
from core.lifecycle.dedup_protection import ProtectingContentStore
from core.lifecycle.protection import renew, renew_all
from core.planning import new_run_id
from core.storage.catalog import ItemVersion
from core.storage.content_store import blob_name
from core.storage.immutability import immutability_for
from core.storage.immutability_azure import AzureBlobImmutability, shared_prefix
from core.storage.immutability_local import LocalImmutability, local_policy_table
from graphsim.process import start_simulator
from tests.integration.test_cli import _cli

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}
MAILBOX = "exchange:user-1"
DAYS = 30


class Counting:
    """The real local adapter, with its calls counted (what a renewal costs the service)."""

    def __init__(self, inner: LocalImmutability) -> None:
        self.inner = inner
        self.reads = 0
        self.extends: list[str] = []
        self._lock = threading.Lock()

    def protected_until(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        self.reads += 1
        return self.inner.protected_until(blob_names)

    def protection_of(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        self.reads += 1
        return self.inner.protection_of(blob_names)

    def extend(self, blob_name: str, until: datetime) -> None:
        with self._lock:
            self.extends.append(blob_name)
        self.inner.extend(blob_name, until)


@pytest.fixture(scope="module")
def graph_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    """The services are built as the hosts build them (build_services), which signs in to Graph: a simulator."""
    sim = start_simulator(tmp_path_factory.mktemp("protection") / "sim", users=1, messages=0)
    yield sim.graph_env()
    sim.stop()


def _services(graph_env: dict[str, str], storage_env: dict[str, str], **settings: str) -> Services:
    env = {**graph_env, **storage_env, "IMMUTABILITY_DAYS": str(DAYS), **settings}
    return build_services(load_settings(env))


@pytest.fixture
def services(graph_env, storage_env) -> Iterator[Services]:
    built = _services(graph_env, storage_env)
    built.immutability = Counting(built.immutability)
    yield built
    built.close()


def _at(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def _store(services: Services, text: str) -> str:
    return services.content.put_bytes(text.encode()).sha256


def _version(sha: str, item: str, first: str, deleted: str = "") -> ItemVersion:
    return ItemVersion("mail", item, first, folder_path="Inbox", content_hash=sha, size=10, deleted_run=deleted)


def _record(services: Services, versions: list[ItemVersion], runs: list[str]) -> None:
    writer = services.catalog.writer(MAILBOX)
    for version in versions:
        writer.put(version)
    writer.flush()
    for run in runs:
        services.runs.record_point(run, {"resource": MAILBOX, "status": "succeeded"}, [])


def _until(services: Services, sha: str) -> datetime:
    found = services.immutability.inner.protected_until([blob_name(sha)])[blob_name(sha)]
    assert found is not None
    return found


def test_a_blob_written_long_ago_and_referenced_by_a_new_point_is_extended(services: Services):
    old = _store(services, "a message unchanged for 40 days")
    first, later = new_run_id(_at(0)), new_run_id(_at(40))
    _record(services, [_version(old, "m1", first)], [first, later])
    assert _until(services, old) < _at(DAYS + 1)  # the container's default: its creation + 30 days

    done = renew(services, MAILBOX, now=_at(40))
    assert (done.points, done.versions, done.blobs, done.extended, done.protected) == (1, 1, 1, 1, 0)
    # the point of day 40 needs it until day 70; the extension reaches a margin of another window beyond
    assert _at(40 + DAYS) < _until(services, old) <= _at(40 + 2 * DAYS + 1)
    assert services.immutability.reads == 1  # one bulk read for the whole resource


def test_protection_never_shrinks(services: Services):
    sha = _store(services, "kept for a legal matter")
    local = services.immutability.inner
    local.extend(blob_name(sha), _at(200))
    local.extend(blob_name(sha), _at(50))  # a shorter protection asked later is ignored
    assert _until(services, sha) > _at(199)

    run = new_run_id(_at(40))
    _record(services, [_version(sha, "m1", run)], [run])
    done = renew(services, MAILBOX, now=_at(40))
    assert (done.protected, done.extended) == (1, 0) and _until(services, sha) > _at(199)
    # a second process (the purge) sees the same protection: the policies are durable, not in memory
    other = LocalImmutability(local._container, local_policy_table(*_table_of(services)), DAYS)
    assert other.protected_until([blob_name(sha)])[blob_name(sha)] == _until(services, sha)
    with pytest.raises(ValueError, match="has passed"):
        local.extend(blob_name(sha), _at(-1))
    with pytest.raises(NotFoundError):
        local.extend(blob_name("0" * 64), _at(10))


def _table_of(services: Services) -> tuple[str, str]:
    return services.settings.storage_connection_string, services.settings.table_prefix


def test_concurrent_extensions_end_with_the_later_date(services: Services):
    sha = _store(services, "two extenders at once")
    local = services.immutability.inner
    targets = [_at(60 + n) for n in range(8)]
    threads = [threading.Thread(target=local.extend, args=(blob_name(sha), t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _until(services, sha) == max(targets).astimezone(UTC)


def test_a_blob_only_an_expired_point_references_is_not_extended(graph_env, storage_env):
    services = _services(graph_env, storage_env, RETENTION_POLICIES="default: all=7d")
    services.immutability = Counting(services.immutability)
    try:
        kept, dropped = _store(services, "still in the mailbox"), _store(services, "deleted on day 30")
        old_point, new_point = new_run_id(_at(20)), new_run_id(_at(40))
        _record(services, [_version(kept, "m1", old_point), _version(dropped, "m2", old_point, deleted=new_point)],
                [old_point, new_point])  # fmt: skip
        done = renew(services, MAILBOX, now=_at(41))  # the day-20 point is past `all=7d`: it expires
        assert (done.points, done.extended) == (1, 1)
        assert services.immutability.extends == [blob_name(kept)]
        assert _until(services, dropped) < _at(DAYS + 1)  # left to run out; the purge may then remove it
        assert _until(services, kept) > _at(40 + DAYS)
    finally:
        services.close()


def test_points_whose_window_has_ended_need_nothing_and_read_no_catalog(services: Services):
    sha = _store(services, "an old point's message")
    run = new_run_id(_at(0))
    _record(services, [_version(sha, "m1", run)], [run])
    done = renew(services, MAILBOX, now=_at(DAYS + 5))  # retained (no policy), but its window is over
    assert (done.points, done.versions, done.extended) == (0, 0, 0) and services.immutability.reads == 0


def test_a_second_renewal_extends_nothing_and_a_day_later_still_nothing(services: Services):
    shas = [_store(services, f"message {n}") for n in range(70)]  # past the bulk threshold: listings, not reads
    first, later = new_run_id(_at(0)), new_run_id(_at(40))
    _record(services, [_version(sha, f"m{n}", first) for n, sha in enumerate(shas)], [first, later])
    assert renew(services, MAILBOX, now=_at(40)).extended == 70
    services.immutability.extends.clear()

    again = renew(services, MAILBOX, now=_at(40))
    assert (again.extended, again.protected) == (0, 70)
    next_day = new_run_id(_at(41))  # a new point references every blob again: the margin covers it
    _record(services, [], [next_day])
    assert renew(services, MAILBOX, now=_at(41)).extended == 0
    assert services.immutability.extends == [] and services.immutability.reads == 3
    assert [r.resource for r in renew_all(services, now=_at(41))] == [MAILBOX]


def test_a_missing_blob_is_counted_not_fatal(services: Services):
    gone = "f" * 64
    run = new_run_id(_at(1))
    _record(services, [_version(gone, "m1", run)], [run])
    done = renew(services, MAILBOX, now=_at(1))
    assert (done.missing, done.extended, done.failed) == (1, 0, 0)


def test_a_legal_hold_keeps_every_point_protected(graph_env, storage_env):
    services = _services(graph_env, storage_env, RETENTION_POLICIES="default: all=1d")
    try:
        sha = _store(services, "held")
        old_point, new_point = new_run_id(_at(20)), new_run_id(_at(40))
        _record(services, [_version(sha, "m1", old_point, deleted=new_point)], [old_point, new_point])
        assert renew(services, MAILBOX, now=_at(41)).extended == 0  # only the expired day-20 point reaches it
        services.holds.place(MAILBOX, "matter 7", "legal")
        assert renew(services, MAILBOX, now=_at(41)).extended == 1  # held: that point is kept, its window is open
    finally:
        services.close()


def test_a_deduplicated_put_extends_the_old_blob_once_however_many_mailboxes_hold_it(services: Services):
    inner = services.content._inner
    local = services.immutability.inner
    # a container whose default protection of this blob has run out: the blob was "written long ago"
    expired = Counting(LocalImmutability(local._container, local._policies, default_days=0))
    store = ProtectingContentStore(inner, expired, DAYS)
    data = b"the same attachment in fifty mailboxes"
    assert store.put_bytes(data).written is True and expired.extends == []  # written now: nothing to extend

    threads = [threading.Thread(target=store.put_bytes, args=(data,)) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    name = blob_name(store.put_bytes(data).sha256)
    assert expired.extends == [name] and store.looks == 1
    assert expired.protected_until([name])[name] > _at(DAYS)


def test_the_backup_paths_store_extends_nothing_for_content_written_in_the_same_run(services: Services):
    assert isinstance(services.content, ProtectingContentStore)
    first = services.content.put_bytes(b"stored twice in one run")
    again = services.content.put_bytes(b"stored twice in one run")
    assert (first.written, again.written) == (True, False)
    assert services.content.looks == 1 and services.content.extensions == 0  # its creation covers the window
    assert services.content.read(first.sha256) == b"stored twice in one run"  # everything else goes through


def test_the_adapter_follows_the_settings(storage_env):
    local = load_settings({**SECRETLESS, **storage_env})
    container = BlobServiceClient.from_connection_string(local.storage_connection_string).get_container_client("c1")
    assert isinstance(immutability_for(local, container), LocalImmutability)
    endpoints = {"BACKUP_STORAGE_BLOB_ENDPOINT": "https://acct.blob.core.windows.net",
                 "BACKUP_STORAGE_TABLE_ENDPOINT": "https://acct.table.core.windows.net"}  # fmt: skip
    azure = load_settings({**SECRETLESS, **endpoints})
    assert isinstance(immutability_for(azure, container), AzureBlobImmutability)
    locked = load_settings({**SECRETLESS, **endpoints, "IMMUTABILITY_LOCKED": "true"})
    assert (immutability_for(azure, container)._mode, immutability_for(locked, container)._mode) == (
        "Unlocked", "Locked")  # fmt: skip
    with pytest.raises(ValueError, match="mode"):
        AzureBlobImmutability(container, "Mutable")


def test_the_azure_adapter_reads_policies_and_names_the_refusal(services: Services):
    """Against Azurite: no policy is reported (it keeps none), and the 501 to Set Blob Immutability Policy is a
    StorageError naming the blob (in Azure the same path sets the policy)."""
    sha = _store(services, "through the real SDK calls")
    azure = AzureBlobImmutability(services.content._container)
    assert azure.protected_until([blob_name(sha), blob_name("e" * 64)]) == {blob_name(sha): None,
                                                                           blob_name("e" * 64): None}  # fmt: skip
    with pytest.raises(StorageError, match=f"could not protect {blob_name(sha)}"):
        azure.extend(blob_name(sha), _at(40))
    with pytest.raises(NotFoundError):
        azure.extend(blob_name("e" * 64), _at(40))
    assert shared_prefix(["sha256/ab/cd/1", "sha256/ab/ce/2"]) == "sha256/ab/c" and shared_prefix([]) == ""
    # many names under one prefix (`sha256/00/`): one listing of it (Azurite lists with include=immutabilitypolicy);
    # names spread thin: a read each; names that are not there (another format's) are left out either way
    dense = [t for t in (f"listed {n}" for n in range(40_000)) if hashlib.sha256(t.encode()).hexdigest()[:2] == "00"]
    names = [blob_name(_store(services, text)) for text in dense[:70]]
    assert len(names) == 70 and all(n.startswith("sha256/00/") for n in names)
    assert azure.protection_of([*names, "sha256/00/00/" + "0" * 64, "zstd/00/00/" + "0" * 64]) == dict.fromkeys(names)


def test_protect_from_the_command_line_extends_once_and_a_second_process_sees_it(graph_env, storage_env, services):
    sha = _store(services, "a message a point five days on still holds")
    first, later = new_run_id(_at(-1)), new_run_id(_at(5))  # the later point's window ends after the blob's default
    _record(services, [_version(sha, "m1", first)], [first, later])
    env = {**graph_env, **storage_env, "IMMUTABILITY_DAYS": str(DAYS)}
    done = _cli(env, "protect", "--json")
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert (row["resource"], row["points"], row["extended"], row["protected"]) == (MAILBOX, 2, 1, 0)
    assert _until(services, sha) > _at(5 + DAYS)
    again = _cli(env, "protect", "--resource", MAILBOX)  # another process: the policy it set is durable
    assert again.returncode == 0 and f"{MAILBOX}: 2 points within their window, 1 blobs: 1 protected, 0 extended" in (
        again.stdout
    )
