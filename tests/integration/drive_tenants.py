"""A simulated tenant with drives only (OneDrives or SharePoint sites), for the drive engine's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.integration.tenant import Tenant, open_tenant


def drive_tenant(
    tmp_path: Path, storage_env: dict[str, str], workloads: str, seed: int, sites: int = 0, page: int = 5
) -> Iterator[Tenant]:
    """One mailbox user (with a OneDrive of a few files) and `sites` sites; small delta pages. Closed after use."""
    settings = {"BACKUP_WORKLOADS": workloads, "GRAPH_PAGE_SIZE": str(page)}
    tenant = open_tenant(tmp_path / "sim", storage_env, settings, users=1, messages=1, seed=seed, drive_files=4,
                         sites=sites)  # fmt: skip
    try:
        yield tenant
    finally:
        tenant.close()


def my_drive(tenant: Tenant) -> tuple[dict, str]:
    """The OneDrive of the tenant's mailbox user, and its resource key."""
    user = tenant.user(0)["id"]
    return tenant.sim.control.drive(user), f"onedrive:{user}"
