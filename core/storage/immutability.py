"""The immutability seam: how long each content blob is protected from deletion, and extending that protection.

Azure enforces it (per-blob, version-level immutability policies on the backup container); Azurite answers 501 to
immutability calls, so the policy logic runs against this port and the adapter behind it is chosen by the host.
`protected_until` answers for many blobs at once (None: not protected, deletable); `extend` never shortens a
protection. Purge and erasure ask before they delete; the lifecycle job extends what retained points still need
(core/lifecycle/protection.py). Adapters: `AzureBlobImmutability` (core/storage/immutability_azure.py, per-blob
version-level policies), `LocalImmutability` (core/storage/immutability_local.py, the service modelled for
Azurite) and `NoImmutability` (nothing protected: unit tests); `immutability_for` picks one from the settings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from core.config import Settings


class ImmutabilityPolicies(Protocol):
    def protected_until(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        """Blob name -> the end of its protection (None: not protected)."""
        ...

    def protection_of(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        """The same for the names that exist only (a content has a name per format it may be stored in, most of
        them absent): what the renewal extends, so that no call is spent on a blob that is not there."""
        ...

    def extend(self, blob_name: str, until: datetime) -> None:
        """Protect the blob until at least `until` (a later protection already set is kept)."""
        ...


class NoImmutability:
    """Nothing is protected: every blob may be deleted (the default until an adapter is configured)."""

    def protected_until(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        return dict.fromkeys(blob_names)

    def protection_of(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        return dict.fromkeys(blob_names)  # it cannot tell: every name is taken as present and unprotected

    def extend(self, blob_name: str, until: datetime) -> None:
        return None


def present_protection(policies: ImmutabilityPolicies, blob_names: Iterable[str]) -> dict[str, datetime | None]:
    """`policies.protection_of(names)`, or for an adapter without it (a test's stand-in) `protected_until`, every
    name then taken as present."""
    of = getattr(policies, "protection_of", None)
    return of(blob_names) if of is not None else policies.protected_until(blob_names)


def immutability_for(settings: Settings, container: ContainerClient) -> ImmutabilityPolicies:
    """The adapter the settings call for: a connection string (Azurite) gets the local model of the service, whose
    container default is IMMUTABILITY_DAYS (the Bicep sets both from one parameter); endpoints get Azure's own
    per-blob policies, through the backup identity (the one that may set them: infra/modules/roles.bicep)."""
    if settings.storage_connection_string:
        from core.storage.immutability_local import LocalImmutability, local_policy_table

        table = local_policy_table(settings.storage_connection_string, settings.table_prefix)
        return LocalImmutability(container, table, settings.immutability_days)
    from core.storage.immutability_azure import AzureBlobImmutability

    return AzureBlobImmutability(container, "Locked" if settings.immutability_locked else "Unlocked")
