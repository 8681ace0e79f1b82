"""The directory: what each discovered resource is called (a user's display name, UPN and mail address; a site's
title and URL; a team's or group's display name and mail) and whether the backup selectors include it, kept so that
every listing can show names instead of object ids and a name can be resolved to its resource key without Graph.

One row per resource in the runs table under its own partition ('directory', RowKey = the escaped resource key),
written by discovery only when something about the resource changed (a rename, a new mail address, a selector that
now excludes it): a discovery of 10,000 unchanged resources reads one partition and writes nothing. Writes go in
table transactions of 100 and are journaled first, in one journal blob per discovery, like every runs-table write,
so rebuild-catalog brings the names back. `all()` reads every name in one query."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TransactionOperation

from core.storage import table_keys as keys
from core.storage.journal import Journal
from core.storage.tables import REPLAY_SAFE

DIRECTORY_PK = "directory"
JOURNAL_TABLE = "runs"
_BATCH = 100  # operations per table transaction


@dataclass(frozen=True)
class DirectoryEntry:
    """A discovered resource and its names ('' when Graph has none): `included` is False for a resource the backup
    selectors (BACKUP_INCLUDE_* / BACKUP_EXCLUDE_*) leave out, which is discovered but not backed up."""

    resource: str  # '<workload>:<object id>'
    display_name: str = ""
    upn: str = ""  # a user's userPrincipalName
    mail: str = ""  # a user's, shared mailbox's, team's or group's primary address
    url: str = ""  # a site's webUrl
    included: bool = True

    @property
    def workload(self) -> str:
        return self.resource.partition(":")[0]

    @property
    def owner(self) -> str:
        return self.resource.partition(":")[2]

    def address(self) -> str:
        """The one name that tells owners apart: a site's URL, else the mail address, else the UPN."""
        return self.url or self.mail or self.upn

    def label(self) -> str:
        """'Adele Vance <adele@contoso.com>', 'Marketing <https://contoso.sharepoint.com/sites/marketing>', or what
        of those is known ('' when nothing is)."""
        address = self.address()
        if self.display_name and address:
            return f"{self.display_name} <{address}>"
        return self.display_name or address

    def names(self) -> dict[str, str]:
        """The names as listings return them (JSON)."""
        return {"display_name": self.display_name, "upn": self.upn, "mail": self.mail, "url": self.url}

    def _same(self, other: DirectoryEntry | None) -> bool:
        return other is not None and asdict(self) == asdict(other)


_NAME_FIELDS = tuple(f.name for f in fields(DirectoryEntry) if f.name not in ("resource", "included"))


class Directory:
    def __init__(self, table: TableClient, journal: Journal | None = None) -> None:
        self._table = table
        self._journal = journal

    def record(self, entries: list[DirectoryEntry]) -> int:
        """Keep what discovery found: only the entries new or changed since the last discovery are written (each
        with `changed_at`). Returns how many were written. An entry not discovered again is kept as it was (a
        resource gone from the tenant is still named in its backups' listings)."""
        known = self.all()
        changed = [e for e in {e.resource: e for e in entries}.values() if not e._same(known.get(e.resource))]
        if not changed:
            return 0
        now = datetime.now(UTC).isoformat()
        rows = [_entity(e, now) for e in changed]
        if self._journal is not None:
            self._journal.record(JOURNAL_TABLE, [("replace", row) for row in rows])
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            operations = [(TransactionOperation.UPSERT, row, {"mode": "replace"}) for row in batch]
            self._table.submit_transaction(operations, **REPLAY_SAFE)
        return len(rows)

    def all(self) -> dict[str, DirectoryEntry]:
        """resource key -> its entry, for every resource ever discovered: one query of one partition."""
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": DIRECTORY_PK})
        return {e.resource: e for e in (_entry(row) for row in rows)}

    def get(self, resource: str) -> DirectoryEntry | None:
        try:
            return _entry(self._table.get_entity(DIRECTORY_PK, keys.escape(resource)))
        except ResourceNotFoundError:
            return None

    def forget(self, resources: list[str]) -> int:
        """Remove these resources' names (an erasure of the person they belong to), journaled as deletes first so
        rebuild-catalog never brings them back. Returns how many were sent."""
        rows = [{"PartitionKey": DIRECTORY_PK, "RowKey": keys.escape(r)} for r in sorted(set(resources))]
        if self._journal is not None and rows:
            self._journal.record(JOURNAL_TABLE, [("delete", row) for row in rows])
        for row in rows:
            self._table.delete_entity(row["PartitionKey"], row["RowKey"])
        return len(rows)


def _entity(entry: DirectoryEntry, now: str) -> dict[str, Any]:
    return {"PartitionKey": DIRECTORY_PK, "RowKey": keys.escape(entry.resource), **asdict(entry), "changed_at": now}


def _entry(row: dict[str, Any]) -> DirectoryEntry:
    values = {k: str(row.get(k) or "") for k in _NAME_FIELDS}
    return DirectoryEntry(resource=str(row.get("resource") or ""), included=bool(row.get("included", True)), **values)
