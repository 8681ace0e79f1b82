"""Clients for the backup storage account: Azurite/connection string locally, Entra ID (managed identity) in
Azure. Shared-key access is disabled there, so nothing but the identity can reach the data."""

from __future__ import annotations

from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError, ServiceResponseError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient

from core.config import Settings
from core.storage.http_transport import storage_transport
from core.storage.reachability import probe_table
from core.storage.wide_ints import WideIntTable

TABLES = ("deltastate", "catalog", "runs", "restorepoints", "restorejobs", "audit", "quarantine")

# An upsert (PATCH merge, PUT replace) or a batch of upserts (POST $batch) leaves the same rows however often it
# is sent, so it may be sent again when the connection drops before the answer came: storage front ends (and
# Azurite, after 5 s) close idle keep-alive connections, and a request can leave on one just as it closes.
# azure-core replays only HEAD, GET, PUT, DELETE, OPTIONS and TRACE unless a call names its methods:
# https://learn.microsoft.com/python/api/azure-core/azure.core.pipeline.policies.retrypolicy
REPLAY_SAFE: dict[str, Any] = {
    "retry_on_methods": frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "MERGE", "POST"})
}


def create_row_once(table: TableClient, entity: dict[str, Any]) -> None:
    """Insert a row that must not exist yet. When the answer is lost the insert may have happened: read the row
    before sending it again. A row that exists with these values is this insert; with others it is a conflict."""
    try:
        table.create_entity(entity)
        return
    except ServiceResponseError:
        pass
    try:
        found = table.get_entity(entity["PartitionKey"], entity["RowKey"])
    except ResourceNotFoundError:
        table.create_entity(entity)
        return
    if any(found.get(key) != value for key, value in entity.items()):
        raise ResourceExistsError(f"row {entity['PartitionKey']}/{entity['RowKey']} exists with other values")


def storage_credential(settings: Settings) -> TokenCredential:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if settings.managed_identity_client_id:
        return ManagedIdentityCredential(client_id=settings.managed_identity_client_id)
    return DefaultAzureCredential()


# Reads come in 4 MiB pieces: the SDK's default first read is 32 MiB, held (twice) in memory at once.
_BLOB_READ = {"max_single_get_size": 4 * 1024 * 1024, "max_chunk_get_size": 4 * 1024 * 1024}


def container_client(settings: Settings) -> ContainerClient:
    options = {**_BLOB_READ, "transport": storage_transport(settings)}  # core/storage/http_transport.py
    if settings.storage_connection_string:
        service = BlobServiceClient.from_connection_string(settings.storage_connection_string, **options)
    else:
        service = BlobServiceClient(settings.blob_endpoint, credential=storage_credential(settings), **options)
    return service.get_container_client(settings.container)


def table_clients(settings: Settings, create: bool = True, probe: bool = False) -> dict[str, TableClient]:
    """One TableClient per table this app uses, keyed by short name ('catalog', ...). With `probe`, the table
    endpoint is asked once, quickly, before anything else (core/storage/reachability.py)."""
    options = {"transport": storage_transport(settings)}  # core/storage/http_transport.py
    if settings.storage_connection_string:
        service = TableServiceClient.from_connection_string(settings.storage_connection_string, **options)
    else:
        service = TableServiceClient(settings.table_endpoint, credential=storage_credential(settings), **options)
    if probe:
        probe_table(service.get_table_client(f"{settings.table_prefix}runs"))
    clients = {}
    for name in TABLES:
        full = f"{settings.table_prefix}{name}"
        if create:
            try:  # sent again when its connection drops: a table made by the first answers 409, as one made before
                service.create_table(full, **REPLAY_SAFE)
            except ResourceExistsError:
                pass
        clients[name] = _client(settings, service, full, options)
    return clients


def _client(settings: Settings, service: TableServiceClient, table: str, options: dict[str, Any]) -> WideIntTable:
    """The table's client, through which a row may hold any int (core/storage/wide_ints.py). It shares the service
    client's transport (`options`), as `get_table_client` shares it: nothing here closes a table client."""
    if settings.storage_connection_string:
        return WideIntTable.from_connection_string(settings.storage_connection_string, table_name=table, **options)
    return WideIntTable(settings.table_endpoint, table_name=table, credential=service.credential, **options)
