"""The immutability seam: how long each content blob is protected from deletion, and extending that protection.

Azure enforces it (per-blob, version-level immutability policies on the backup container); Azurite answers 501 to
immutability calls, so the policy logic runs against this port and the adapter behind it is chosen by the host.
`protected_until` answers for many blobs at once (None: not protected, deletable); `extend` never shortens a
protection. Purge and erasure ask before they delete; the lifecycle job extends what retained points still need.
(First cut: the port and the no-op adapter. The Azure and local adapters follow.)"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol


class ImmutabilityPolicies(Protocol):
    def protected_until(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        """Blob name -> the end of its protection (None: not protected)."""
        ...

    def extend(self, blob_name: str, until: datetime) -> None:
        """Protect the blob until at least `until` (a later protection already set is kept)."""
        ...


class NoImmutability:
    """Nothing is protected: every blob may be deleted (the default until an adapter is configured)."""

    def protected_until(self, blob_names: Iterable[str]) -> dict[str, datetime | None]:
        return dict.fromkeys(blob_names)

    def extend(self, blob_name: str, until: datetime) -> None:
        return None
