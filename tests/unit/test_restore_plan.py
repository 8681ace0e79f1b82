"""The pure parts of restore planning: splitting a selection into parts, batching parts, a job's final status, and
the request each part runs."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from core.errors import InvalidRequestError
from core.restore_plan import MAX_PARTS, job_status, part_batches, part_request, parts_for, target_owner
from core.restore_request import RestoreRequest
from core.workloads.registry import WORKLOADS


@pytest.mark.parametrize(("items", "parts"), [(0, 3), (1, 1), (1, 4), (7, 3), (100, 1), (250, 3), (1001, 11)])
def test_parts_cover_every_item_exactly_once(items, parts):
    ids = [f"AAMk{n:05d}" for n in range(items)]
    shuffled = random.Random(items).sample(ids, len(ids))
    base = RestoreRequest("exchange:u1", whole=True)
    shares = [RestoreRequest("exchange:u1", whole=True, part=p, parts=parts).select_part(shuffled, str) for p in
              range(parts)]  # fmt: skip

    assert sorted(i for share in shares for i in share) == sorted(ids)  # each exactly once
    assert max(map(len, shares)) - min(map(len, shares)) <= 1  # evenly
    again = [RestoreRequest("exchange:u1", whole=True, part=p, parts=parts).select_part(ids, str) for p in
             range(parts)]  # fmt: skip
    assert [sorted(s) for s in again] == [sorted(s) for s in shares]  # the order given does not matter
    assert base.select_part(shuffled, str) == shuffled


def test_parts_for_a_selection():
    assert [parts_for(n) for n in (0, 1, 100, 101, 250)] == [1, 1, 1, 2, 3]
    assert parts_for(10_000_000) == MAX_PARTS == 500
    assert parts_for(10, part_size=3) == 4


def test_part_batches():
    assert part_batches(0) == []
    assert part_batches(3, 2) == [[0, 1], [2]]
    assert [len(b) for b in part_batches(120)] == [50, 50, 20]
    assert [p for b in part_batches(500) for p in b] == list(range(500))
    with pytest.raises(ValueError):
        part_batches(3, 0)


@pytest.mark.parametrize(
    ("counts", "failed_parts", "error", "status"),
    [
        ({"restored": 5, "skipped": 0, "failed": 0}, 0, "", "succeeded"),
        ({"restored": 0, "skipped": 5, "failed": 0}, 0, "", "succeeded"),
        ({"restored": 0, "skipped": 0, "failed": 0}, 0, "", "succeeded"),
        ({"restored": 5, "skipped": 0, "failed": 1}, 0, "", "partial"),
        ({"restored": 0, "skipped": 2, "failed": 0}, 1, "", "partial"),
        ({"restored": 0, "skipped": 0, "failed": 3}, 0, "", "failed"),
        ({"restored": 0, "skipped": 0, "failed": 0}, 2, "", "failed"),
        ({"restored": 0, "skipped": 0, "failed": 0}, 0, "not in the backup", "failed"),
    ],
)
def test_job_status(counts, failed_parts, error, status):
    assert job_status(counts, failed_parts, error) == status


def test_part_request_pins_the_run_and_names_the_folder():
    request = RestoreRequest("exchange:u1", at=datetime(2026, 11, 22, tzinfo=UTC), folder="Inbox",
                             destination="new-folder", target_owner="exchange:u2")  # fmt: skip
    part = part_request(request, "20261122T000000000000Z", 4, 3, "Restored 2026-11-22 101500 UTC")

    assert (part.run_id, part.at, part.part, part.parts) == ("20261122T000000000000Z", None, 3, 4)
    assert part.new_folder_name() == "Restored 2026-11-22 101500 UTC"
    assert part.target_owner == "u2"  # a target given as a resource key of the same workload
    assert (part.folder, part.destination, part.resource) == ("Inbox", "new-folder", "exchange:u1")
    assert part_request(request, "r", 1, 0, None).destination_name is None


def test_a_target_of_another_workload_is_refused():
    with pytest.raises(InvalidRequestError, match="same workload"):
        target_owner(RestoreRequest("exchange:u1", whole=True, target_owner="onedrive:u2"))
    assert target_owner(RestoreRequest("sharepoint:s1", whole=True, target_owner="host,a,b")) == "host,a,b"
    assert target_owner(RestoreRequest("exchange:u1", whole=True)) is None


@pytest.mark.parametrize("declared", list(WORKLOADS.values()), ids=list(WORKLOADS))
def test_a_target_given_as_a_resource_key_of_its_own_workload_is_its_owner(declared):
    request = RestoreRequest(f"{declared.name}:u1", whole=True, target_owner=f"{declared.name}:u2")
    assert target_owner(request) == "u2"  # a chats target ('chats:<user id>') is that user, as any other
    assert part_request(request, "r", 1, 0, None).target_owner == "u2"
    assert target_owner(RestoreRequest(f"{declared.name}:u1", whole=True, target_owner="u2")) == "u2"
