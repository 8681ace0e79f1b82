"""What a drive item version records besides its content: who made and changed it and when, its eTag, cTag and
hash, and its permissions (sharing links and grants), all in the version's `extra` JSON.

Permissions are kept whole, never cut: inline while the `extra` stays small, else written to the content store as
one JSON blob (deduplicated by SHA-256 like any content) that `extra` references by `permissions_sha256`. A Table
string property holds 32K characters, and one heavily shared file can have thousands of grants."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from core.storage.content_store import BlobContentStore

NO_PERMISSIONS = "[]"
INLINE_LIMIT = 24_000  # characters of `extra` kept in the catalog row; beyond, the permissions go to a blob


def canonical_permissions(grants: list[dict[str, Any]]) -> str:
    """One spelling of a permissions list, so equal lists compare (and hash) equal."""
    return json.dumps(grants, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def permissions_digest(permissions: str) -> str:
    """What a version's change key carries of its permissions: '' for none, else a short hash."""
    if permissions == NO_PERMISSIONS:
        return ""
    return "p:" + hashlib.sha256(permissions.encode("utf-8")).hexdigest()[:32]


def file_extra(content: BlobContentStore, entry: dict, permissions: str) -> str:
    def who(field: str) -> str:
        return str(((entry.get(field) or {}).get("user") or {}).get("displayName") or "")

    info = entry.get("fileSystemInfo") or {}
    fields = {
        "created": entry.get("createdDateTime", ""),
        "created_by": who("createdBy"),
        "modified_by": who("lastModifiedBy"),
        "etag": entry.get("eTag", ""),
        "ctag": entry.get("cTag", ""),
        "quick_xor": ((entry.get("file") or {}).get("hashes") or {}).get("quickXorHash", ""),
        "fs_created": info.get("createdDateTime", ""),
        "fs_modified": info.get("lastModifiedDateTime", ""),
    }
    return _with_permissions(content, fields, permissions)


def folder_extra(content: BlobContentStore, permissions: str) -> str:
    """A folder's `extra`: its permissions when it has any of its own that were read, else ''."""
    return "" if permissions == NO_PERMISSIONS else _with_permissions(content, {}, permissions)


def _with_permissions(content: BlobContentStore, fields: dict[str, Any], permissions: str) -> str:
    grants = json.loads(permissions)
    inline = json.dumps({**fields, "permissions": grants}, separators=(",", ":"), ensure_ascii=False)
    if len(inline) <= INLINE_LIMIT:
        return inline
    stored = content.put_bytes(permissions.encode("utf-8"), content_type="application/json")
    reference = {**fields, "permissions_sha256": stored.sha256, "permissions_count": len(grants)}
    return json.dumps(reference, separators=(",", ":"), ensure_ascii=False)


def recorded_permissions(content: BlobContentStore, extra: str) -> list[dict[str, Any]]:
    """The permissions a version captured, whole: inline, or read back (hash-verified) from the content store."""
    described = json.loads(extra) if extra else {}
    if described.get("permissions_sha256"):
        return list(json.loads(content.read(described["permissions_sha256"])))
    return list(described.get("permissions") or [])
