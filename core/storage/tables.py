"""Clients for the backup storage account: Azurite/connection string locally, Entra ID (managed identity) in
Azure. Shared-key access is disabled there, so nothing but the identity can reach the data."""

from __future__ import annotations

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient

from core.config import Settings

TABLES = ("deltastate", "catalog", "runs", "restorepoints", "restorejobs", "audit")


def storage_credential(settings: Settings) -> TokenCredential:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if settings.managed_identity_client_id:
        return ManagedIdentityCredential(client_id=settings.managed_identity_client_id)
    return DefaultAzureCredential()


# Reads come in 4 MiB pieces: the SDK's default first read is 32 MiB, held (twice) in memory at once.
_BLOB_READ = {"max_single_get_size": 4 * 1024 * 1024, "max_chunk_get_size": 4 * 1024 * 1024}


def container_client(settings: Settings) -> ContainerClient:
    if settings.storage_connection_string:
        service = BlobServiceClient.from_connection_string(settings.storage_connection_string, **_BLOB_READ)
    else:
        service = BlobServiceClient(settings.blob_endpoint, credential=storage_credential(settings), **_BLOB_READ)
    return service.get_container_client(settings.container)


def table_clients(settings: Settings, create: bool = True) -> dict[str, TableClient]:
    """One TableClient per table this app uses, keyed by short name ('catalog', ...)."""
    if settings.storage_connection_string:
        service = TableServiceClient.from_connection_string(settings.storage_connection_string)
    else:
        service = TableServiceClient(settings.table_endpoint, credential=storage_credential(settings))
    clients = {}
    for name in TABLES:
        full = f"{settings.table_prefix}{name}"
        if create:
            try:
                service.create_table(full)
            except ResourceExistsError:
                pass
        clients[name] = service.get_table_client(full)
    return clients
