"""Backup runs and restore points.

`{prefix}runs`: one entity per run (PartitionKey 'run', RowKey = run id, which sorts in time order).
`{prefix}restorepoints`: one entity per (resource, run): the resource's status and counts in that run. A restore
"as of" a run or a time resolves to a restore point that completed (succeeded or partial)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from core.errors import InvalidRequestError, NotFoundError, StorageError
from core.planning import new_run_id
from core.storage import table_keys as keys
from core.storage.direct_batch import DirectTransaction
from core.storage.direct_query import DirectQuery, query_entities
from core.storage.journal import Journal
from core.storage.purge_log import PurgeLog
from core.storage.purge_marks import PurgeMarks
from core.storage.run_resources import PURGE_PREFIX, VERIFY_PREFIX, RunResources
from core.storage.signal_baselines import SignalBaselines
from core.storage.sweep_lock import SweepLock, wait_for_sweep
from core.storage.tables import REPLAY_SAFE
from core.storage.verifications import VerificationLog

if TYPE_CHECKING:
    from core.run_owner import RunOwner
    from core.signals.assessment import Assessment

_RUNS_PK = "run"
RUNS_TABLE, POINTS_TABLE = "runs", "restorepoints"  # their short names (core/storage/tables.py), for the journal
_COUNTS = ("resources", "succeeded", "partial", "failed", "skipped", "items", "bytes", "removed", "failed_items")
USABLE = ("succeeded", "partial")
RUN_STATUSES = ("running", "succeeded", "partial", "failed", "skipped", "interrupted")  # interrupted: never finished
_OWNER = ("owner_host", "owner_pid", "heartbeat_at")
_MAX_FAILURES_JSON = 30_000  # Table string properties hold 64 KiB of UTF-16
# what a scan of every restore point reads (not the failure lists)
POINT_COLUMNS = ["RowKey", "resource", "status", "items", "bytes", "removed", "failed_items", "error", "kind",
                 "finished_at", "suspicious", "suspicious_reasons", "suspicious_cleared"]  # fmt: skip
LAST_CLEAN = "last-clean"  # a run id that names the resource's newest usable point not flagged suspicious


def _now() -> str:
    return datetime.now(UTC).isoformat()


class RunStore:
    def __init__(
        self,
        runs: TableClient,
        points: TableClient,
        journal: Journal | None = None,
        points_direct: tuple[DirectTransaction | None, DirectQuery | None] = (None, None),
    ) -> None:
        self._runs = runs
        self._points = points
        # a resource's point written, and its recent points read, without the SDK's pipeline (direct_batch.py,
        # direct_query.py): the two requests each resource's backup makes here
        self._points_writer, self._points_reader = points_direct
        self._journal = journal  # runs and points are journaled too (core/storage/journal.py)
        self.verifications = VerificationLog(runs, journal)  # content verifications, in their own partition
        self.purges = PurgeLog(runs, journal)  # purge reports (core/lifecycle/purge.py), their own partition
        self.purge_marks = PurgeMarks(runs)  # what a purge will remove after its grace period
        self.baselines = SignalBaselines(runs, journal)  # the ransomware signal's baseline per resource
        self.resource_lists = RunResources(runs)  # a Durable run's resource list (core/storage/run_resources.py)
        self.verify_lists = RunResources(runs, VERIFY_PREFIX)  # a Durable verification's, by verification id
        self.purge_lists = RunResources(runs, PURGE_PREFIX)  # a Durable purge's, by purge id

    def _keep(self, table: str, mode: str, entity: dict[str, Any]) -> None:
        if self._journal is not None:
            self._journal.record(table, [(mode, entity)])

    # -- runs --------------------------------------------------------------------------------------------------
    def start(self, run_id: str, trigger: str, owner: RunOwner | None = None) -> None:
        """Record a run as running. A local run names its `owner` process, whose heartbeat it keeps (see
        core/run_owner.py); a Durable one does not."""
        entity = {"PartitionKey": _RUNS_PK, "RowKey": run_id, "status": "running", "trigger": trigger}
        entity["started_at"] = _now()
        if owner is not None:
            entity.update(owner_host=owner.host, owner_pid=owner.pid, heartbeat_at=entity["started_at"])
        self._keep(RUNS_TABLE, "merge", entity)
        self._runs.upsert_entity(entity, mode=UpdateMode.MERGE, **REPLAY_SAFE)
        wait_for_sweep(self._runs)  # after the row: a blob sweep sees it, or this sees its lock (sweep_lock.py)

    def sweep_lock(self, owner: str) -> SweepLock:
        """The blob-sweep lock (core/storage/sweep_lock.py), a row of the runs table."""
        return SweepLock(self._runs, owner)

    def heartbeat(self, run_id: str) -> None:
        entity = {"PartitionKey": _RUNS_PK, "RowKey": run_id, "heartbeat_at": _now()}
        self._runs.upsert_entity(entity, mode=UpdateMode.MERGE, **REPLAY_SAFE)

    def running(self) -> list[dict[str, Any]]:
        """Runs recorded as running (with their owner and heartbeat, when they have one)."""
        entities = self._runs.query_entities(
            "PartitionKey eq @pk and status eq @status", parameters={"pk": _RUNS_PK, "status": "running"}
        )
        return [{**_run_dict(e), **{k: e.get(k) for k in _OWNER}} for e in entities]

    def interrupt(self, run_id: str, status: str, error: str, summary: dict[str, Any] | None = None) -> bool:
        """Record the end of a run that did not finish (status 'interrupted' or 'failed') with its error and the
        counts of what it did finish (`summary`), unless it ended meanwhile. True if this call recorded it."""
        try:
            current = self._runs.get_entity(_RUNS_PK, run_id)
        except ResourceNotFoundError:
            return False
        if current.get("status") != "running":
            return False
        entity = {"PartitionKey": _RUNS_PK, "RowKey": run_id, "status": status, "finished_at": _now()}
        entity.update({k: int((summary or {}).get(k, 0)) for k in _COUNTS} if summary is not None else {})
        entity["error"] = " ".join(str(error).split())[:1000]
        try:
            self._runs.update_entity(entity, mode=UpdateMode.MERGE, etag=current.metadata["etag"],
                                     match_condition=MatchConditions.IfNotModified)  # fmt: skip
        except (ResourceModifiedError, HttpResponseError) as exc:
            if getattr(exc, "status_code", None) != 412:
                raise
            return self.interrupt(run_id, status, error, summary)  # a heartbeat or the finish raced us: look again
        self._keep(RUNS_TABLE, "merge", entity)  # after: a finish that raced it must not be undone by a replay
        return True

    def finish(self, run_id: str, summary: dict[str, Any]) -> None:
        entity = {"PartitionKey": _RUNS_PK, "RowKey": run_id, "status": summary["status"], "finished_at": _now()}
        entity.update({k: int(summary.get(k, 0)) for k in _COUNTS})
        entity["error"] = str(summary.get("error") or "")[:1000]
        self._keep(RUNS_TABLE, "merge", entity)
        self._runs.upsert_entity(entity, mode=UpdateMode.MERGE, **REPLAY_SAFE)

    def get(self, run_id: str) -> dict[str, Any]:
        try:
            entity = self._runs.get_entity(_RUNS_PK, run_id)
        except ResourceNotFoundError:
            raise NotFoundError(f"no backup run {run_id!r}") from None
        return _run_dict(entity)

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first."""
        entities = list(self._runs.query_entities("PartitionKey eq @pk", parameters={"pk": _RUNS_PK}))
        return [_run_dict(e) for e in sorted(entities, key=lambda e: e["RowKey"], reverse=True)[:limit]]

    # -- restore points ----------------------------------------------------------------------------------------
    def record_point(
        self,
        run_id: str,
        result: dict[str, Any],
        failures: list[dict[str, str]],
        notes: list[str] | None = None,
        signal: Assessment | None = None,
    ) -> None:
        """The resource's restore point of the run: its result, its failures and the notes its backup left (why a
        delta link stayed where it was, a kind that could not be read), each list cut to fit a table property;
        `signal` (a core.signals.assessment.Assessment, or None) its ransomware signal: `suspicious`, its reasons
        and the run's signal counts."""
        notes_json = json.dumps(notes or [])
        while len(notes_json) > _MAX_FAILURES_JSON and notes:
            notes = notes[: len(notes) // 2]
            notes_json = json.dumps([*notes, "more notes not listed"])
        failures_json = json.dumps(failures)
        while len(failures_json) > _MAX_FAILURES_JSON and failures:
            failures = failures[: len(failures) // 2]
            failures_json = json.dumps([*failures, {"item": "...", "error": "more failures not listed"}])
        entity = {
            "PartitionKey": keys.escape(result["resource"]),
            "RowKey": run_id,
            "resource": result["resource"],
            "status": result["status"],
            "items": int(result.get("items", 0)),
            "bytes": int(result.get("bytes", 0)),
            "removed": int(result.get("removed", 0)),
            "failed_items": int(result.get("failed_items", 0)),
            "error": result.get("error") or "",
            "kind": result.get("kind") or "",
            "kind_read_at": result.get("kind_read_at") or "",
            "failures": failures_json,
            "notes": notes_json,
            "finished_at": _now(),
        }
        if signal is not None:
            entity["suspicious"] = bool(signal.suspicious)
            entity["suspicious_reasons"] = json.dumps(signal.reasons)  # bounded: a few names per reason
            entity["signals"] = json.dumps(signal.signals, separators=(",", ":"))
        self._keep(POINTS_TABLE, "replace", entity)
        if self._points_writer is not None and self._points_writer.submit([("replace", entity)]):
            return
        self._points.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)  # no definite answer: again

    def point(self, resource: str, run_id: str) -> dict[str, Any] | None:
        """One restore point of `resource`, or None when the run recorded none for it."""
        try:
            return _point_dict(self._points.get_entity(keys.escape(resource), run_id))
        except ResourceNotFoundError:
            return None

    def clear_suspicious(self, resource: str, run_id: str, by: str, reason: str) -> None:
        """The point is not suspicious after all (core/signals/clear_flag.py): the flag off, its reasons kept, who
        cleared it, when and why recorded beside them."""
        entity = {"PartitionKey": keys.escape(resource), "RowKey": run_id, "suspicious": False,
                  "suspicious_cleared": json.dumps({"by": by, "at": _now(), "reason": reason[:500]})}  # fmt: skip
        self._keep(POINTS_TABLE, "merge", entity)
        self._points.update_entity(entity, mode=UpdateMode.MERGE)

    def points(self, resource: str) -> list[dict[str, Any]]:
        """The resource's restore points, oldest first."""
        entities = self._points.query_entities("PartitionKey eq @pk", parameters={"pk": keys.escape(resource)})
        return sorted((_point_dict(e) for e in entities), key=lambda p: p["run_id"])

    def recent_kind(self, resource: str, since: datetime) -> tuple[str, str]:
        """(kind, read at) of the newest restore point of `resource` since `since` that has a kind, if that kind was
        read from the tenant at or after `since`; else ('', ''). One query of the points since then (run ids sort in
        time), three columns each."""
        query = "PartitionKey eq @pk and RowKey ge @low"
        parameters = {"pk": keys.escape(resource), "low": new_run_id(since)}
        try:
            found = list(query_entities(self._points, self._points_reader, query, parameters,
                                        select=["RowKey", "kind", "kind_read_at"]))  # fmt: skip
        except HttpResponseError as exc:
            raise StorageError(f"restore points of {resource} not read: {exc.message}") from exc
        for entity in sorted(found, key=lambda e: e["RowKey"], reverse=True):
            kind, read_at = str(entity.get("kind") or ""), str(entity.get("kind_read_at") or "")
            if kind and read_at:
                return (kind, read_at) if datetime.fromisoformat(read_at) >= since else ("", "")
        return "", ""

    def points_by_resource(self) -> dict[str, list[dict[str, Any]]]:
        """Every resource's restore points (oldest first, without their failure lists), in one scan of the table."""
        columns = POINT_COLUMNS
        grouped: dict[str, list[dict[str, Any]]] = {}
        for entity in self._points.query_entities("RowKey ne ''", select=columns):
            grouped.setdefault(entity["resource"], []).append(_point_dict(entity))
        return {key: sorted(found, key=lambda p: p["run_id"]) for key, found in sorted(grouped.items())}

    def delete_points(self, resource: str, run_ids: list[str]) -> int:
        """Remove restore points of `resource` (the purge, an erasure), each journaled as a delete first so
        rebuild-catalog never brings it back; a point already gone is no error. Returns the points sent."""
        for run_id in sorted(set(run_ids)):
            entity = {"PartitionKey": keys.escape(resource), "RowKey": run_id}
            self._keep(POINTS_TABLE, "delete", entity)
            self._points.delete_entity(entity["PartitionKey"], run_id)
        return len(set(run_ids))

    def resources(self) -> list[str]:
        """Every resource that has at least one restore point."""
        seen: set[str] = set()
        for entity in self._points.query_entities("RowKey ne ''", select=["resource"]):
            seen.add(entity["resource"])
        return sorted(seen)

    def resolve_point(
        self, resource: str, run_id: str | None = None, at: datetime | None = None, clean: bool = False
    ) -> str:
        """The run to restore `resource` as of: the given run (which must have a usable restore point for it;
        LAST_CLEAN: the newest usable one not flagged suspicious), the last usable one at or before `at`, or the
        latest usable one; with `clean` and neither run nor time given, the latest one not flagged suspicious
        (the same as the latest when it is not flagged: core/signals/clean_point.py)."""
        usable = [p for p in self.points(resource) if p["status"] in USABLE]
        if not usable:
            raise NotFoundError(f"no completed backup of {resource!r}")
        if run_id == LAST_CLEAN or (clean and run_id is None and at is None and usable[-1]["suspicious"]):
            clean_points = [p for p in usable if not p["suspicious"]]
            if not clean_points:
                raise NotFoundError(f"every backup of {resource!r} is flagged suspicious: name a run, or ask for the "
                                    "suspicious point (use_suspicious, --use-suspicious)")  # fmt: skip
            return clean_points[-1]["run_id"]
        if run_id is not None:
            for point in usable:
                if point["run_id"] == run_id:
                    return run_id
            raise NotFoundError(f"run {run_id!r} has no usable restore point for {resource!r}")
        if at is not None:
            bound = new_run_id(at)
            earlier = [p for p in usable if p["run_id"] <= bound]
            if not earlier:
                raise InvalidRequestError(f"{at.isoformat()} is before the first backup of {resource!r}")
            return earlier[-1]["run_id"]
        return usable[-1]["run_id"]


def _run_dict(entity: dict[str, Any]) -> dict[str, Any]:
    out = {"run_id": entity["RowKey"], "status": entity.get("status", ""), "trigger": entity.get("trigger", "")}
    out["started_at"] = entity.get("started_at", "")
    out["finished_at"] = entity.get("finished_at", "")
    out["error"] = entity.get("error", "")
    out.update({k: int(entity.get(k, 0) or 0) for k in _COUNTS})
    return out


def _point_dict(entity: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": entity.get("resource", ""),
        "run_id": entity["RowKey"],
        "status": entity.get("status", ""),
        "items": int(entity.get("items", 0)),
        "bytes": int(entity.get("bytes", 0)),
        "removed": int(entity.get("removed", 0)),
        "failed_items": int(entity.get("failed_items", 0)),
        "error": entity.get("error", ""),
        "kind": entity.get("kind") or "",
        "failures": json.loads(entity.get("failures") or "[]"),
        "notes": json.loads(entity.get("notes") or "[]"),
        "finished_at": entity.get("finished_at", ""),
        "suspicious": bool(entity.get("suspicious", False)),
        "suspicious_reasons": json.loads(entity.get("suspicious_reasons") or "[]"),
        "suspicious_cleared": json.loads(entity.get("suspicious_cleared") or "null"),  # by, at, reason
        "signals": json.loads(entity.get("signals") or "{}"),
    }
