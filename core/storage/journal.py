"""The journal: every write to the catalog, the runs, the restore points and the audit log is also kept as a write-once
blob in the content container (`journal/<table>/<time ns>-<random>.json`, never overwritten; in Azure under the
container's immutability policy), so the tables can be rebuilt from the container alone (core/rebuild_catalog.py) if
they are lost, damaged or deleted by someone holding the app's table role.

A journal blob holds the operations of one table write as they were sent: `{"table", "ops": [{"mode", "entity"}]}`
with mode 'replace' or 'merge' (upserts), 'create' (an audit entry) or 'delete' (a row the purge, an erasure or a
cleared hold removed: its keys only). Every operation is an upsert, a create or a delete by keys, so replaying the
journal in name order (time order; strictly increasing within a process) leaves the rows the tables held. A journal
blob is written before its table write: a write the table never got may be replayed (an upsert the next run repeats,
or a version of a run that failed; rebuild_catalog repairs the one case that matters, two live versions of an item),
but no row the table holds is missing from the journal. The delta state, the quarantine and the restore jobs are not
journaled: after a rebuild each resource starts with a full delta round (compared against the rebuilt catalog, so
only what changed is downloaded), and the next run holds again what it cannot read."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import ContainerClient, ContentSettings

from core.errors import StorageError
from core.storage.direct_put import DirectPut

PREFIX = "journal/"
MODES = ("replace", "merge", "create", "delete")


class Journal:
    def __init__(self, container: ContainerClient, direct: DirectPut | None = None) -> None:
        self._container = container
        self._direct = direct  # journal blobs written without the SDK's pipeline (core/storage/direct_put.py)
        self._lock = threading.Lock()
        self._last = 0

    def _stamp(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last

    def record(self, table: str, ops: list[tuple[str, dict[str, Any]]]) -> str:
        """Keep one table write (its operations, in order) as a new journal blob; returns the blob's name."""
        if any(mode not in MODES for mode, _ in ops):
            raise ValueError(f"journal modes are {MODES}")
        body = {"table": table, "ops": [{"mode": mode, "entity": entity} for mode, entity in ops]}
        name = f"{PREFIX}{table}/{self._stamp():020d}-{secrets.token_hex(4)}.json"
        data = json.dumps(body, separators=(",", ":"), default=str).encode()
        if self._direct is not None and self._direct.put(name, data, "application/json", {}) is not None:
            return name  # written, or there already: this write sent again
        try:
            self._container.upload_blob(name, data, overwrite=False,
                                        content_settings=ContentSettings(content_type="application/json"))  # fmt: skip
        except ResourceExistsError:  # the same name twice is this write sent again (its answer was lost)
            pass
        except HttpResponseError as exc:
            raise StorageError(f"could not journal a {table} write: {exc.message}") from exc
        return name

    def entries(self, table: str) -> Iterator[dict[str, Any]]:
        """The journal of `table` in the order it was written (blob names sort in time order)."""
        try:
            for blob in self._container.list_blobs(name_starts_with=f"{PREFIX}{table}/"):
                yield json.loads(self._container.download_blob(blob.name).readall())
        except HttpResponseError as exc:
            raise StorageError(f"could not read the {table} journal: {exc.message}") from exc
