"""Per-blob immutability in Azure: version-level immutability policies on the blobs of the backup container.

The container has version-level immutability and a default time-based policy (infra/modules/backup-storage.bicep):
every blob is protected for `immutabilityRetentionDays` from its creation. Content is deduplicated, so a blob a
point references today may have been written long ago; its protection is then extended with its own policy:

- "Set Blob Immutability Policy" (PUT ?comp=immutabilityPolicies, x-ms-immutability-policy-until-date,
  x-ms-immutability-policy-mode): "unlocked indicates the user may change the policy by increasing or decreasing
  the retention until date; locked indicates that these actions are prohibited"
  (https://learn.microsoft.com/rest/api/storageservices/set-blob-immutability-policy). A time in the past is
  invalid; the blob's ETag does not change.
- It needs the data action `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/
  runAsSuperUser/action` ("Permissions for calling data operations",
  https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory), which "Delete
  Immutability Policy" needs too. So only the backup identity holds it (its custom role has no blob delete), and
  the purge identity, which may delete, cannot touch a policy (infra/modules/roles.bicep).
- Read back in bulk through List Blobs with `include=immutabilitypolicy` (the expiry and mode of each blob) where
  many names share a prefix, else one blob's properties (`BlobProperties.immutability_policy`) each.

A policy keeps its mode: a blob whose policy is Locked (the container's default, once locked) is extended Locked,
since a locked policy cannot become unlocked; otherwise the adapter's `mode` (IMMUTABILITY_LOCKED: 'Locked' once the
deployment locks the container's default, else 'Unlocked').
Azurite answers 501 to all of this, which is why the local adapter (core/storage/immutability_local.py) exists."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ImmutabilityPolicy

from core.errors import NotFoundError, StorageError

BULK_FROM = 64  # from this many names under one two-segment prefix on, one listing beats a read per blob
READERS = 8  # blob property reads in flight
MODES = ("Unlocked", "Locked")


def shared_prefix(names: list[str]) -> str:
    """The longest string every name starts with (character by character: a listing's `name_starts_with`)."""
    if not names:
        return ""
    low, high = min(names), max(names)
    n = 0
    while n < min(len(low), len(high)) and low[n] == high[n]:
        n += 1
    return low[:n]


def _aware(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class AzureBlobImmutability:
    """ImmutabilityPolicies on Azure Blob Storage (core/storage/immutability.py)."""

    def __init__(self, container: ContainerClient, mode: str = "Unlocked") -> None:
        if mode not in MODES:
            raise ValueError(f"immutability policy mode must be one of {MODES}, not {mode!r}")
        self._container = container
        self._mode = mode

    def _policy(self, name: str) -> ImmutabilityPolicy | None:
        """The blob's policy; None when the blob does not exist."""
        try:
            return self._container.get_blob_client(name).get_blob_properties().immutability_policy
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            raise StorageError(f"could not read the immutability policy of {name}: {exc.message}") from exc

    def protected_until(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        names = list(dict.fromkeys(blob_names))
        return {**dict.fromkeys(names), **self.protection_of(names)}

    def protection_of(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        """Per group of names that share their first two path segments (`sha256/ab/`, 1/256 of one format's
        blobs): one listing of that prefix when the group is dense, else a read per blob, a few at a time. So a
        resource's renewal never lists the whole container, however large it is."""
        groups: dict[str, list[str]] = {}
        for name in dict.fromkeys(blob_names):
            groups.setdefault("/".join(name.split("/")[:2]) + "/", []).append(name)
        result: dict[str, datetime | None] = {}
        sparse = [name for group in groups.values() if len(group) < BULK_FROM for name in group]
        with ThreadPoolExecutor(READERS, thread_name_prefix="policy") as pool:
            for name, policy in zip(sparse, pool.map(self._policy, sparse), strict=True):
                if policy is not None:
                    result[name] = _aware(policy.expiry_time)
        for prefix, group in groups.items():
            if len(group) >= BULK_FROM:
                result.update(self._listed(prefix, set(group)))
        return result

    def _listed(self, prefix: str, wanted: set[str]) -> dict[str, datetime | None]:
        found: dict[str, datetime | None] = {}
        try:
            for blob in self._container.list_blobs(name_starts_with=prefix, include=["immutabilitypolicy"]):
                if blob.name in wanted:
                    found[blob.name] = _aware(blob.immutability_policy.expiry_time)
        except HttpResponseError as exc:
            raise StorageError(f"could not list immutability policies under {prefix}: {exc.message}") from exc
        return found

    def extend(self, blob_name: str, until: datetime) -> None:
        until = until.astimezone(UTC)
        if until <= datetime.now(UTC):
            raise ValueError(f"cannot protect {blob_name} until {until.isoformat()}: that time has passed")
        current = self._policy(blob_name)
        if current is None:
            raise NotFoundError(f"no blob {blob_name} to protect")
        ends = _aware(current.expiry_time)
        if ends is not None and ends >= until:
            return  # a protection at least as long is kept as it is
        mode = "Locked" if current.policy_mode == "Locked" else self._mode  # "Locked" is never relaxed
        try:
            self._container.get_blob_client(blob_name).set_immutability_policy(
                ImmutabilityPolicy(expiry_time=until, policy_mode=mode)
            )
        except ResourceNotFoundError:
            raise NotFoundError(f"no blob {blob_name} to protect") from None
        except HttpResponseError as exc:
            raise StorageError(f"could not protect {blob_name} until {until.isoformat()}: {exc.message}") from exc
