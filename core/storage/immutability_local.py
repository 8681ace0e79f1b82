"""Per-blob immutability as the service would keep it, for Azurite (which answers 501 to immutability calls and
enforces nothing): the policy logic of core/lifecycle/protection.py and the purge is tested against this.

It models the deployed container honestly: a blob is protected until the later of its creation time plus the
container's default days (the Bicep's `immutabilityRetentionDays`, which it also sets as IMMUTABILITY_DAYS) and
the until-date of any per-blob policy set on it; a policy only ever moves later (a shorter one asked for is
ignored, as a Locked policy refuses it); a blob that does not exist cannot be given one. Policies are rows of a
table of their own (`{BACKUP_TABLE_PREFIX}immutability`, made here, never in Azure), so a separate process (the
purge) sees what the backup set; a row is replaced only under its ETag, so two processes extending at once end
with the later date, never the earlier."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode
from azure.storage.blob import ContainerClient

from core.errors import NotFoundError
from core.storage import table_keys as keys
from core.storage.immutability_azure import shared_prefix

TABLE_SUFFIX = "immutability"
POLICY_PK = "policy"
BULK_FROM = 64  # from this many names on, one listing (blobs) and one partition scan (policies)


def local_policy_table(connection_string: str, table_prefix: str) -> TableClient:
    """The table the local adapter keeps policies in, created if missing."""
    service = TableServiceClient.from_connection_string(connection_string)
    name = f"{table_prefix}{TABLE_SUFFIX}"
    try:
        service.create_table(name)
    except ResourceExistsError:
        pass
    return service.get_table_client(name)


def _parse(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


class LocalImmutability:
    """ImmutabilityPolicies (core/storage/immutability.py) kept in a table beside an Azurite container."""

    def __init__(self, container: ContainerClient, policies: TableClient, default_days: int) -> None:
        self._container = container
        self._policies = policies
        self._default = timedelta(days=max(0, default_days))

    # -- reads ---------------------------------------------------------------------------------------------------
    def _created(self, names: list[str]) -> dict[str, datetime | None]:
        if len(names) < BULK_FROM:
            found: dict[str, datetime | None] = {}
            for name in names:
                try:
                    found[name] = self._container.get_blob_client(name).get_blob_properties().creation_time
                except ResourceNotFoundError:
                    found[name] = None
            return found
        wanted, found = set(names), dict.fromkeys(names)
        for blob in self._container.list_blobs(name_starts_with=shared_prefix(names) or None):
            if blob.name in wanted:
                found[blob.name] = blob.creation_time
        return found

    def _policy_rows(self, names: list[str]) -> dict[str, datetime | None]:
        if len(names) < BULK_FROM:
            return {name: self._row_until(name)[0] for name in names}
        wanted, found = set(names), dict.fromkeys(names)
        for row in self._policies.query_entities("PartitionKey eq @pk", parameters={"pk": POLICY_PK}):
            name = keys.unescape(row["RowKey"])
            if name in wanted:
                found[name] = _parse(row.get("until"))
        return found

    def _row_until(self, name: str) -> tuple[datetime | None, object]:
        """(the blob's policy until-date, the row's ETag); (None, None) without a policy."""
        try:
            row = self._policies.get_entity(POLICY_PK, keys.escape(name))
        except ResourceNotFoundError:
            return None, None
        return _parse(row.get("until")), row.metadata["etag"]

    def protected_until(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        names = list(dict.fromkeys(blob_names))
        return {**dict.fromkeys(names), **self.protection_of(names)}  # no such blob: nothing to protect

    def protection_of(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        names = list(dict.fromkeys(blob_names))
        created = self._created(names)
        present = [name for name in names if created[name] is not None]
        policies = self._policy_rows(present)
        result: dict[str, datetime | None] = {}
        for name in present:
            when = created[name]
            assert when is not None
            ends = [e for e in (when.astimezone(UTC) + self._default if self._default else None, policies[name]) if e]
            result[name] = max(ends) if ends else None
        return result

    # -- the one write -------------------------------------------------------------------------------------------
    def extend(self, blob_name: str, until: datetime) -> None:
        until = until.astimezone(UTC)
        if until <= datetime.now(UTC):
            raise ValueError(f"cannot protect {blob_name} until {until.isoformat()}: that time has passed")
        if not self._container.get_blob_client(blob_name).exists():
            raise NotFoundError(f"no blob {blob_name} to protect")
        row = {"PartitionKey": POLICY_PK, "RowKey": keys.escape(blob_name), "until": until.isoformat(),
               "set_at": datetime.now(UTC).isoformat()}  # fmt: skip
        while True:  # a concurrent extender: read again and keep the later date
            current, etag = self._row_until(blob_name)
            if current is not None and current >= until:
                return
            try:
                if etag is None:
                    self._policies.create_entity(row)
                else:
                    self._policies.update_entity(row, mode=UpdateMode.REPLACE, etag=etag,
                                                 match_condition=MatchConditions.IfNotModified)  # fmt: skip
                return
            except (ResourceExistsError, ResourceModifiedError):
                continue
