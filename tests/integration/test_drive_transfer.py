"""Drive downloads and uploads against the simulator over loopback HTTPS: the 302 to a pre-authenticated URL that
never sees the bearer token, Range-resume after a dropped connection, an expired URL exchanged for a fresh one, flat
memory for a large file, simple PUT, upload sessions resumed from nextExpectedRanges, conflict behaviours, and names
that need careful quoting."""

from __future__ import annotations

import hashlib
import io
import random
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from core.config import load_settings
from core.errors import GraphConflict, GraphNotFound, InvalidRequestError
from core.graph.auth import TokenProvider
from core.graph.client import GraphClient
from core.graph.drive_download import download_item
from core.graph.drive_upload import FRAGMENT_UNIT, create_folder, upload_file
from core.graph.quickxor import QuickXorHash
from core.storage.content_store import Spool
from graphsim.process import SimulatorProcess, start_simulator

STORAGE = {"BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"}  # not used by these tests
AWKWARD_NAME = "Résumé #1 — 100% done ☃ & (final) 'v2'.txt"


class HashingSink:
    """A sink that keeps no bytes: SHA-256, QuickXorHash, size, and how often it was told to start over."""

    def __init__(self) -> None:
        self.restart()
        self.restarts = 0

    def write(self, chunk: bytes) -> int:
        self.sha.update(chunk)
        self.qx.update(chunk)
        self.size += len(chunk)
        return len(chunk)

    def restart(self) -> None:
        self.sha = hashlib.sha256()
        self.qx = QuickXorHash()
        self.size = 0
        self.restarts = getattr(self, "restarts", -1) + 1


class ArmingReader(io.BytesIO):
    """A source that arms a simulator fault the first time a read starts at or past `at`."""

    def __init__(self, data: bytes, at: int, arm: Any) -> None:
        super().__init__(data)
        self.at, self.arm, self.armed = at, arm, False

    def read(self, size: int | None = -1) -> bytes:
        if not self.armed and self.tell() >= self.at:
            self.armed = True
            self.arm()
        return super().read(size)


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Iterator[SimulatorProcess]:
    with start_simulator(tmp_path_factory.mktemp("sim"), users=1, messages=1, seed=5, drive_files=2, sites=0) as p:
        yield p


@pytest.fixture
def graph(sim: SimulatorProcess) -> Iterator[GraphClient]:
    settings = load_settings({**STORAGE, **sim.graph_env()})
    client = GraphClient(settings, TokenProvider(settings))
    sim.control.configure_drives(download_url_lifetime=600)
    sim.control.clear_faults()
    yield client
    client.close()


@pytest.fixture
def drive(sim: SimulatorProcess) -> dict[str, Any]:
    return sim.control.drives_state()["drives"][0]


@pytest.fixture
def folder(sim: SimulatorProcess, drive: dict[str, Any], request) -> str:
    """A fresh folder per test, so names never collide between tests."""
    return sim.control.create_drive_folder(drive["id"], f"t-{request.node.name[:40]}-{time.monotonic_ns()}")["id"]


def _stats_delta(sim: SimulatorProcess, before: dict[str, int]) -> dict[str, int]:
    after = sim.control.drive_stats()
    return {k: after[k] - before.get(k, 0) for k in after}


# -- downloads ---------------------------------------------------------------------------------------------------
def test_download_follows_the_redirect_without_sending_the_token(sim, graph, drive, folder):
    item = sim.control.add_drive_item(drive["id"], "report.bin", parent=folder, size=3 * 1024 * 1024 + 17)
    before = sim.control.drive_stats()
    with Spool() as spool:
        size = download_item(graph, drive["id"], item["id"], spool, expected_size=item["size"])
        assert size == spool.size == item["size"] and spool.sha256 == item["sha256"]
    delta = _stats_delta(sim, before)
    assert delta["download_requests"] == 1 and delta["download_with_authorization"] == 0


def test_a_dropped_connection_resumes_with_range_and_nothing_is_fetched_twice(sim, graph, drive, folder):
    item = sim.control.add_drive_item(drive["id"], "big.bin", parent=folder, size=5 * 1024 * 1024 + 3)
    sim.control.drop_download(after_bytes=2 * 1024 * 1024 + 11, item=item["id"])
    before = sim.control.drive_stats()
    sink = HashingSink()
    assert download_item(graph, drive["id"], item["id"], sink, sleep=lambda _: None) == item["size"]
    assert sink.sha.hexdigest() == item["sha256"] and sink.qx.base64() == item["quickXorHash"]
    assert sink.restarts == 0
    delta = _stats_delta(sim, before)
    assert delta["download_dropped"] == 1 and delta["download_requests"] == 2
    # The resumed request asked for the bytes from where the client stood; a restart would send 2 MiB more. (Bytes the
    # simulator wrote just before aborting can be lost in transit and are rightly asked for again: at most a piece.)
    assert item["size"] <= delta["download_bytes"] < item["size"] + 256 * 1024
    assert delta["download_with_authorization"] == 0


def test_an_expired_download_url_is_exchanged_for_a_fresh_one(sim, graph, drive, folder):
    item = sim.control.add_drive_item(drive["id"], "slow.bin", parent=folder, size=2 * 1024 * 1024)
    sim.control.configure_drives(download_url_lifetime=0.5)
    sim.control.drop_download(after_bytes=700_000, item=item["id"])
    before = sim.control.drive_stats()
    sink = HashingSink()
    size = download_item(
        graph, drive["id"], item["id"], sink, expected_size=item["size"], sleep=lambda _: time.sleep(1)
    )
    assert size == item["size"] and sink.sha.hexdigest() == item["sha256"] and sink.restarts == 0
    delta = _stats_delta(sim, before)
    # drop → resume on the old URL (401, expired) → /content again → resume from byte 700,000 on the new URL
    assert delta["download_expired"] == 1 and delta["download_requests"] == 3
    assert item["size"] <= delta["download_bytes"] < item["size"] + 256 * 1024


def test_a_missing_item_is_not_found_and_a_wrong_size_is_refused(sim, graph, drive, folder):
    with pytest.raises(GraphNotFound):
        download_item(graph, drive["id"], "01NOSUCHITEM", HashingSink())
    item = sim.control.add_drive_item(drive["id"], "small.txt", parent=folder, content=b"twelve bytes")
    from core.errors import MalformedResponse

    with pytest.raises(MalformedResponse, match="12 bytes"):
        download_item(graph, drive["id"], item["id"], HashingSink(), expected_size=13)


def test_a_64_mib_file_streams_with_flat_memory(sim, graph, drive, folder):
    size = 64 * 1024 * 1024
    item = sim.control.add_big_file(drive["id"], "sixty-four.bin", size, parent=folder)
    sink = HashingSink()
    tracemalloc.start()
    try:
        started = time.perf_counter()
        assert download_item(graph, drive["id"], item["id"], sink, expected_size=size) == size
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.sha.hexdigest() == item["sha256"] and sink.qx.base64() == item["quickXorHash"]
    print(f"\n64 MiB download (hashing, traced): {size / elapsed / 1e6:.0f} MB/s, peak traced {peak / 2**20:.1f} MiB")
    assert peak < 8 * 1024 * 1024


# -- uploads -----------------------------------------------------------------------------------------------------
def test_a_small_file_is_one_put_with_its_timestamps(sim, graph, drive, folder):
    data = random.Random(1).randbytes(150_000)
    when = {"createdDateTime": "2019-03-04T05:06:07Z", "lastModifiedDateTime": "2020-01-02T03:04:05Z"}
    item = upload_file(graph, drive["id"], folder, "notes.bin", io.BytesIO(data), len(data), file_system_info=when)
    assert item["name"] == "notes.bin" and item["size"] == len(data)
    assert item["fileSystemInfo"]["lastModifiedDateTime"].startswith("2020-01-02T03:04:05")
    assert item["fileSystemInfo"]["createdDateTime"].startswith("2019-03-04T05:06:07")
    assert sim.control.drive_item_content(drive["id"], item["id"]) == data
    empty = upload_file(graph, drive["id"], folder, "empty.txt", io.BytesIO(), 0)
    assert empty["size"] == 0 and download_item(graph, drive["id"], empty["id"], HashingSink(), expected_size=0) == 0


def test_a_large_file_goes_in_fragments_and_a_failed_fragment_resumes_from_next_expected_ranges(
    sim, graph, drive, folder
):
    fragment = 2 * FRAGMENT_UNIT
    data = random.Random(2).randbytes(8 * fragment + 12_345)  # 9 fragments, the last one short
    fail_at = 3 * fragment  # the 4th fragment fails (500: not retried by the client) and is sent again
    source = ArmingReader(data, fail_at, lambda: sim.control.fail_upload_fragment(item="session.bin", status=500))
    when = {"lastModifiedDateTime": "2018-07-08T09:10:11Z"}
    before = sim.control.drive_stats()
    item = upload_file(
        graph,
        drive["id"],
        folder,
        "session.bin",
        source,
        len(data),
        file_system_info=when,
        fragment_size=fragment,
        sleep=lambda _: None,
    )
    assert source.armed and item["size"] == len(data)
    assert item["fileSystemInfo"]["lastModifiedDateTime"].startswith("2018-07-08T09:10:11")
    delta = _stats_delta(sim, before)
    assert delta["upload_fragment_failed"] == 1 and delta["upload_fragments"] == 10
    assert delta["upload_with_authorization"] == 0
    assert hashlib.sha256(sim.control.drive_item_content(drive["id"], item["id"])).digest() == (
        hashlib.sha256(data).digest()
    )


def test_an_upload_starts_at_the_source_position(sim, graph, drive, folder):
    payload = random.Random(3).randbytes(5 * 1024 * 1024)
    source = io.BytesIO(b"HEADER" + payload)
    source.seek(6)
    item = upload_file(graph, drive["id"], folder, "offset.bin", source, len(payload), fragment_size=16 * FRAGMENT_UNIT)
    assert sim.control.drive_item_content(drive["id"], item["id"]) == payload


@pytest.mark.parametrize("size", [100, 5 * 1024 * 1024])
def test_conflict_behaviours(sim, graph, drive, folder, size):
    def up(data: bytes, conflict: str) -> dict:
        return upload_file(
            graph, drive["id"], folder, "same.bin", io.BytesIO(data), len(data), conflict=conflict, sleep=lambda _: 0
        )

    first = up(b"a" * size, "fail")
    with pytest.raises(GraphConflict) as caught:
        up(b"b" * size, "fail")
    assert caught.value.status == 409
    assert sim.control.drive_item_content(drive["id"], first["id"]) == b"a" * size
    replaced = up(b"c" * size, "replace")
    assert replaced["id"] == first["id"]
    assert sim.control.drive_item_content(drive["id"], first["id"]) == b"c" * size
    renamed = up(b"d" * size, "rename")
    assert renamed["name"] == "same 1.bin" and renamed["id"] != first["id"]


def test_folders_and_awkward_names_round_trip(sim, graph, drive, folder):
    sub = create_folder(graph, drive["id"], folder, "Ünïcode # 50% folder")
    assert sub["name"] == "Ünïcode # 50% folder" and "folder" in sub
    with pytest.raises(GraphConflict):
        create_folder(graph, drive["id"], folder, "Ünïcode # 50% folder", "fail")
    assert create_folder(graph, drive["id"], folder, "Ünïcode # 50% folder", "rename")["name"] == (
        "Ünïcode # 50% folder 1"
    )
    for size in (1234, 4 * 1024 * 1024 + 1):
        data = random.Random(size).randbytes(size)
        name = f"{size} {AWKWARD_NAME}"
        item = upload_file(graph, drive["id"], sub["id"], name, io.BytesIO(data), size)
        assert item["name"] == name and item["size"] == size
        sink = HashingSink()
        assert download_item(graph, drive["id"], item["id"], sink, expected_size=size) == size
        assert sink.sha.hexdigest() == hashlib.sha256(data).hexdigest()
    paths = {i["path"] for d in sim.control.drives_state()["drives"] for i in d["items"]}
    assert any(p.endswith(f"/Ünïcode # 50% folder/1234 {AWKWARD_NAME}") for p in paths)


def test_names_that_could_escape_are_refused_before_any_request(graph, drive, folder):
    for bad in ("../x", "a/b", "..", ""):
        with pytest.raises(InvalidRequestError):
            upload_file(graph, drive["id"], folder, bad, io.BytesIO(b"x"), 1)
    with pytest.raises(InvalidRequestError):
        upload_file(graph, drive["id"], folder, "ok.bin", io.BytesIO(b"x"), 1, conflict="overwrite")
    with pytest.raises(InvalidRequestError):
        upload_file(graph, drive["id"], folder, "ok.bin", io.BytesIO(b"x"), 1, fragment_size=100_000)
