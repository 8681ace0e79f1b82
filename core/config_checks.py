"""Checks of the storage settings against the services' own rules, made when the settings are read, so a bad
value is one clear line naming the setting instead of an SDK error (or a traceback) at the first request.

Rules: blob container names (3-63 characters: lowercase letters, digits and single hyphens, beginning and ending
with a letter or digit), https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata;
table names (3-63 characters, letters and digits, beginning with a letter),
https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model#table-names
(the prefix is followed by the longest table name this project makes, so prefix and name must fit 63); a
connection string is `key=value` pairs separated by ';' naming an account or endpoints; a CA bundle is a file."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Settings

_CONTAINER = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
_TABLE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_LONGEST_TABLE = len("restorepoints")  # core/storage/tables.py TABLES (and the others' names) are no longer
_CONNECTION_KEYS = {
    "defaultendpointsprotocol", "accountname", "accountkey", "endpointsuffix", "blobendpoint", "tableendpoint",
    "queueendpoint", "fileendpoint", "sharedaccesssignature", "usedevelopmentstorage", "developmentstorageproxyuri",
}  # fmt: skip


def container_error(name: str) -> str:
    if _CONTAINER.match(name):
        return ""
    return (f"setting BACKUP_CONTAINER must be a blob container name (3-63 lowercase letters, digits and single "
            f"hyphens, beginning and ending with a letter or digit), got {name!r}")  # fmt: skip


def table_prefix_error(prefix: str) -> str:
    if _TABLE_PREFIX.match(prefix) and len(prefix) + _LONGEST_TABLE <= 63:
        return ""
    return (f"setting BACKUP_TABLE_PREFIX must be letters and digits beginning with a letter, at most "
            f"{63 - _LONGEST_TABLE} characters (table names), got {prefix!r}")  # fmt: skip


def connection_string_error(text: str) -> str:
    if not text:
        return ""
    pairs = [part.strip() for part in text.split(";") if part.strip()]
    keys = {part.partition("=")[0].strip().lower() for part in pairs}
    unknown = sorted(keys - _CONNECTION_KEYS)
    if any("=" not in p or not p.partition("=")[2].strip() for p in pairs):
        what = "a part without a value"
    elif unknown:
        what = f"unknown keys {', '.join(unknown)}"
    elif not keys & {"usedevelopmentstorage", "accountname", "blobendpoint"}:
        what = "no AccountName, BlobEndpoint or UseDevelopmentStorage"
    elif "accountname" in keys and not keys & {"accountkey", "sharedaccesssignature"}:
        what = "no AccountKey"
    else:
        return ""
    return (
        f"setting BACKUP_STORAGE_CONNECTION_STRING is malformed ({what}): expected "
        "'DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...' or 'UseDevelopmentStorage=true'"
    )


def ca_bundle_error(path: str) -> str:
    if not path or os.path.isfile(path):
        return ""
    return f"setting GRAPH_CA_BUNDLE names no readable file: {path!r}"


def storage_name_errors(settings: Settings) -> list[str]:
    """Every storage and CA bundle setting that breaks its service's rules, one line each."""
    found = [
        container_error(settings.container),
        table_prefix_error(settings.table_prefix),
        connection_string_error(settings.storage_connection_string),
        ca_bundle_error(settings.ca_bundle),
    ]
    return [line for line in found if line]
