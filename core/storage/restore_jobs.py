"""Restore jobs: what a restore over HTTP asked for, who asked, and how far it has got.

`{prefix}restorejobs`: PartitionKey = job id. RowKey 'job' holds the request, the requester and the job's status;
RowKey 'part-00000'... hold one part's outcome (counts, per-item failures, what was restored), written once when
that part finishes; RowKey 'folder-<hash of path>' rows hold the target folders the job resolved when it was planned
(path, folder id, whether the job made it), which its parts start from. Status is read by summing the finished
parts, so parts running in parallel on different workers never write the same entity.

The selection, written once (by the API when it validated the request, else by the job's planning) and read by
parts: RowKey 'pick-000000'... hold the selected items sorted by item id, PICKS_PER_ROW a row (item id, folder id,
folder path; folder ids and paths once per row), as JSON split over properties of at most MAX_JSON_CHARS characters
(a Table string property holds 64 KiB, an entity 1 MiB); RowKey 'selection', written after them, holds the run,
how many items and rows. A part reads only the rows its slice of the selection falls in (one range query)."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TransactionOperation, UpdateMode

from core.errors import NotFoundError
from core.restore_request import RestoreReport, RestoreRequest, part_bounds
from core.storage.tables import REPLAY_SAFE, create_row_once
from core.workloads.base import Pick

JOB = "job"
STATUSES = ("accepted", "running", "succeeded", "partial", "failed")
COUNTS = ("restored", "skipped", "failed")
MAX_PART_FAILURES = 100  # per part, kept in the part entity ...
MAX_PART_ITEMS = 150
MAX_JSON_CHARS = 30_000  # ... each list at most this many characters (a Table string holds 32K UTF-16 characters)
MAX_LISTED_FAILURES = 1_000
MAX_LISTED_ITEMS = 1_000


def _now() -> str:
    return datetime.now(UTC).isoformat()


def new_job_id(now: datetime | None = None) -> str:
    """Sortable by creation time: 'r20261122T101500-3f9a0c12'."""
    return f"r{(now or datetime.now(UTC)):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


PART_PREFIX, FOLDER_PREFIX, PICK_PREFIX, SELECTION = "part-", "folder-", "pick-", "selection"
PICKS_PER_ROW = 500  # selected items per 'pick-' row
MAX_PICK_PROPERTIES = 14  # ... its JSON over at most this many properties of MAX_JSON_CHARS (~840 KB of UTF-16)
TRANSACTION_CHARS = 1_000_000  # of selection JSON per transaction (a batch may carry 4 MiB)


def _part_key(part: int) -> str:
    return f"{PART_PREFIX}{part:05d}"


def _folder_key(path: str) -> str:
    return FOLDER_PREFIX + hashlib.sha256(path.encode()).hexdigest()[:32]


def _pick_key(row: int) -> str:
    return f"{PICK_PREFIX}{row:06d}"


def _prefix_query(job_id: str, low: str, high: str) -> tuple[str, dict[str, str]]:
    return "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi", {"pk": job_id, "lo": low, "hi": high}


def _above(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _pick_row(job_id: str, row: int, picks: list[Pick]) -> dict[str, Any]:
    """One 'pick-' row: its picks as {"f": [[folder id, path], ...], "i": [[item id, index into f], ...]}."""
    folders: dict[tuple[str, str], int] = {}
    items = [[p.item_id, folders.setdefault((p.folder_id, p.path), len(folders))] for p in picks]
    text = json.dumps({"f": [list(f) for f in folders], "i": items})
    pieces = [text[n : n + MAX_JSON_CHARS] for n in range(0, len(text), MAX_JSON_CHARS)]
    if len(pieces) > MAX_PICK_PROPERTIES:
        raise ValueError(f"selected items {picks[0].item_id!r}... do not fit one table row")
    entity: dict[str, Any] = {"PartitionKey": job_id, "RowKey": _pick_key(row), "count": len(picks),
                              "pieces": len(pieces)}  # fmt: skip
    entity.update({f"p{n}": piece for n, piece in enumerate(pieces)})
    return entity


def _picks_of(entity: dict[str, Any]) -> list[Pick]:
    data = json.loads("".join(str(entity[f"p{n}"]) for n in range(int(entity["pieces"]))))
    folders = [(str(f), str(p)) for f, p in data["f"]]
    return [Pick(str(item), *folders[index]) for item, index in data["i"]]


def _bounded_json(entries: list[dict[str, Any]]) -> tuple[str, int]:
    """(JSON of the longest prefix of `entries` that fits MAX_JSON_CHARS, how many entries it holds)."""
    kept = len(entries)
    text = json.dumps(entries)
    while len(text) > MAX_JSON_CHARS and kept:
        kept = kept * MAX_JSON_CHARS // len(text) if kept > 1 else 0
        text = json.dumps(entries[:kept])
    return text, kept


def _json_list(text: Any) -> list:
    try:
        value = json.loads(text) if isinstance(text, str) and text else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


class RestoreJobStore:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def create(self, job_id: str, request: RestoreRequest, requester: dict[str, Any]) -> None:
        """Record an accepted job (before its orchestration starts). An existing id is an error, not overwritten."""
        create_row_once(
            self._table,
            {
                "PartitionKey": job_id,
                "RowKey": JOB,
                "status": "accepted",
                "request": json.dumps(request.to_dict(), sort_keys=True),
                "resource": request.resource,
                "requester": str(requester.get("oid", "")),
                "requester_name": str(requester.get("name", "")),
                "requester_roles": json.dumps(list(requester.get("roles", ()))),
                "created_at": _now(),
                "updated_at": _now(),
                "run_id": "",
                "parts": 0,
                "destination": "",
                "error": "",
            },
        )

    def request(self, job_id: str) -> RestoreRequest:
        return RestoreRequest.from_dict(json.loads(self._job(job_id)["request"]))

    def start(self, job_id: str, run_id: str, parts: int, destination: str) -> None:
        entity = {"PartitionKey": job_id, "RowKey": JOB, "status": "running", "run_id": run_id, "parts": parts,
                  "destination": destination, "updated_at": _now(), "started_at": _now()}  # fmt: skip
        self._table.upsert_entity(entity, mode=UpdateMode.MERGE, **REPLAY_SAFE)

    def record_part(self, job_id: str, part: int, report: RestoreReport) -> dict[str, int]:
        """Keep one finished part's outcome; returns its counts (what the orchestrator adds up)."""
        counts = {name: int(getattr(report, name)) for name in COUNTS}
        entity: dict[str, Any] = {"PartitionKey": job_id, "RowKey": _part_key(part), **counts, "finished_at": _now()}
        entity["failures"], kept = _bounded_json(report.failures[:MAX_PART_FAILURES])
        entity["failures_dropped"] = len(report.failures) - kept
        entity["items"], kept = _bounded_json(report.items[:MAX_PART_ITEMS])
        entity["items_dropped"] = len(report.items) - kept
        entity["destination"] = report.destination
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)
        return counts

    def recorded_part(self, job_id: str, part: int) -> dict[str, int] | None:
        """The counts a part recorded when it finished (None: it has not, or it could not run)."""
        try:
            row = self._table.get_entity(job_id, _part_key(part))
        except ResourceNotFoundError:
            return None
        return None if row.get("error") else {name: int(row.get(name, 0)) for name in COUNTS}

    def begin_part(self, job_id: str, part: int) -> bool:
        """Note that the part starts; True when it had started before (its activity runs again after a crash:
        what it restored then is in the target now, though the part never recorded it)."""
        key = f"began-{part:06d}"
        try:
            self._table.get_entity(job_id, key)
            return True
        except ResourceNotFoundError:
            pass
        entity = {"PartitionKey": job_id, "RowKey": key, "began_at": _now()}
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)
        return False

    def record_part_failure(self, job_id: str, part: int, error: str) -> None:
        """A part that could not run at all (its activity failed): visible in the status, counts unknown."""
        entity = {"PartitionKey": job_id, "RowKey": _part_key(part), "restored": 0, "skipped": 0, "failed": 0,
                  "error": error[:2000], "finished_at": _now(), "failures": "[]", "items": "[]"}  # fmt: skip
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)

    def finish(self, job_id: str, status: str, error: str = "") -> None:
        entity = {"PartitionKey": job_id, "RowKey": JOB, "status": status, "error": error[:2000],
                  "updated_at": _now(), "finished_at": _now()}  # fmt: skip
        self._table.upsert_entity(entity, mode=UpdateMode.MERGE, **REPLAY_SAFE)

    def _job(self, job_id: str) -> dict[str, Any]:
        try:
            return dict(self._table.get_entity(job_id, JOB))
        except (ResourceNotFoundError, ValueError):
            raise NotFoundError(f"no restore job {job_id!r}") from None

    def get(self, job_id: str) -> dict[str, Any]:
        """The job with its progress: parts finished of parts, counts so far, per-item failures, restored items."""
        job = self._job(job_id)
        query, params = _prefix_query(job_id, PART_PREFIX, _above(PART_PREFIX))
        parts = list(self._table.query_entities(query, parameters=params))
        totals = {name: sum(int(p.get(name, 0)) for p in parts) for name in COUNTS}
        failures: list[dict] = []
        items: list[dict] = []
        part_errors = []
        for p in sorted(parts, key=lambda e: e["RowKey"]):
            failures.extend(_json_list(p.get("failures")))
            items.extend(_json_list(p.get("items")))
            if p.get("error"):
                part_errors.append({"part": int(p["RowKey"].removeprefix("part-")), "error": p["error"]})
        summary = _job_dict(job)
        summary["progress"] = {"parts": int(job.get("parts", 0)), "parts_done": len(parts), **totals}
        summary["failures"] = failures[:MAX_LISTED_FAILURES]
        summary["failures_not_listed"] = len(failures[MAX_LISTED_FAILURES:]) + sum(
            int(p.get("failures_dropped", 0)) for p in parts
        )
        summary["items_not_listed"] = len(items[MAX_LISTED_ITEMS:]) + sum(int(p.get("items_dropped", 0)) for p in parts)
        summary["part_errors"] = part_errors
        summary["items"] = items[:MAX_LISTED_ITEMS]
        summary["destination_folder"] = next((p.get("destination") for p in parts if p.get("destination")), "")
        return summary

    def save_folders(self, job_id: str, folders: dict[str, tuple[str, bool]]) -> None:
        """Keep the target folders the job resolved (path -> (folder id, made by this job)), 100 rows per
        transaction (upserts: safe to send again)."""
        rows = [(TransactionOperation.UPSERT, {"PartitionKey": job_id, "RowKey": _folder_key(path), "path": path,
                 "folder_id": folder_id, "made": made}, {"mode": "replace"})
                for path, (folder_id, made) in sorted(folders.items())]  # fmt: skip
        for first in range(0, len(rows), 100):
            self._table.submit_transaction(rows[first : first + 100], **REPLAY_SAFE)

    def folders(self, job_id: str) -> dict[str, tuple[str, bool]] | None:
        """The target folders saved for the job, or None if it saved none."""
        query, params = _prefix_query(job_id, FOLDER_PREFIX, _above(FOLDER_PREFIX))
        rows = list(self._table.query_entities(query, parameters=params))
        return {str(r["path"]): (str(r["folder_id"]), bool(r["made"])) for r in rows} if rows else None

    def save_selection(self, job_id: str, run_id: str, items: int, picks: list[Pick]) -> None:
        """Keep what the job's request selects as of run `run_id` (`items`: its size as validate_restore counts it;
        `picks`: the items), once: rows of PICKS_PER_ROW picks in item id order, then the 'selection' row that says
        they are complete. Upserts with the same keys: safe to send again."""
        ordered = sorted(picks, key=lambda p: p.item_id)
        rows = [_pick_row(job_id, n, ordered[first : first + PICKS_PER_ROW])
                for n, first in enumerate(range(0, len(ordered), PICKS_PER_ROW))]  # fmt: skip
        batch: list[tuple[Any, ...]] = []
        size = 0
        for row in rows:
            chars = sum(len(row[f"p{n}"]) for n in range(row["pieces"]))
            if batch and (len(batch) == 100 or size + chars > TRANSACTION_CHARS):
                self._table.submit_transaction(batch, **REPLAY_SAFE)
                batch, size = [], 0
            batch.append((TransactionOperation.UPSERT, row, {"mode": "replace"}))
            size += chars
        if batch:
            self._table.submit_transaction(batch, **REPLAY_SAFE)
        summary = {"PartitionKey": job_id, "RowKey": SELECTION, "run_id": run_id, "items": items,
                   "picks": len(ordered), "rows": len(rows)}  # fmt: skip
        self._table.upsert_entity(summary, mode=UpdateMode.REPLACE, **REPLAY_SAFE)

    def selection(self, job_id: str) -> dict[str, Any] | None:
        """{run_id, items, picks, rows} of the selection kept with the job, or None if it has none (yet)."""
        try:
            entity = self._table.get_entity(job_id, SELECTION)
        except ResourceNotFoundError:
            return None
        return {"run_id": str(entity["run_id"]), "items": int(entity["items"]), "picks": int(entity["picks"]),
                "rows": int(entity["rows"])}  # fmt: skip

    def part_picks(self, job_id: str, part: int, parts: int) -> list[Pick] | None:
        """The items of part `part` of `parts` of the kept selection (its slice in item id order, see
        part_bounds), read from the rows it falls in: one range query. None if the job kept no selection."""
        kept = self.selection(job_id)
        if kept is None:
            return None
        low, high = part_bounds(kept["picks"], part, parts)
        if low >= high:
            return []
        first, last = low // PICKS_PER_ROW, (high - 1) // PICKS_PER_ROW
        query, params = _prefix_query(job_id, _pick_key(first), _pick_key(last + 1))
        rows = sorted(self._table.query_entities(query, parameters=params), key=lambda e: e["RowKey"])
        picks = [p for row in rows for p in _picks_of(row)]
        return picks[low - first * PICKS_PER_ROW : high - first * PICKS_PER_ROW]

    def list(self, limit: int = 50, requester: str | None = None) -> list[dict[str, Any]]:
        """Newest first; only `requester`'s jobs when given."""
        query, params = "RowKey eq @job", {"job": JOB}
        if requester is not None:
            query += " and requester eq @who"
            params["who"] = requester
        jobs = sorted(self._table.query_entities(query, parameters=params), key=lambda e: e["PartitionKey"],
                      reverse=True)  # fmt: skip
        return [_job_dict(e) for e in jobs[:limit]]

    def count(self) -> int:
        return sum(1 for _ in self._table.query_entities("RowKey eq @job", parameters={"job": JOB}, select=["RowKey"]))


def _job_dict(entity: dict[str, Any]) -> dict[str, Any]:
    request = json.loads(entity.get("request") or "{}")
    return {
        "id": entity["PartitionKey"],
        "status": entity.get("status", ""),
        "resource": entity.get("resource", ""),
        "request": request,
        "requester": {
            "oid": entity.get("requester", ""),
            "name": entity.get("requester_name", ""),
            "roles": _json_list(entity.get("requester_roles")),
        },
        "run_id": entity.get("run_id", ""),
        "parts": int(entity.get("parts", 0)),
        "created_at": entity.get("created_at", ""),
        "started_at": entity.get("started_at", ""),
        "finished_at": entity.get("finished_at", ""),
        "error": entity.get("error", ""),
    }
