"""The one path by which the backup stores an item's content (a MIME, a contact's or event's JSON, a photo, an
attachment, a file): into the write-once, content-addressed store, then counted in the run's report, as new bytes
or as deduplicated (the same content was stored already: no new blob)."""

from __future__ import annotations

from core.models import BackupReport
from core.storage.content_store import BlobContentStore, Spool, StoredContent


def store_content(
    content: BlobContentStore, report: BackupReport, data: Spool | bytes, content_type: str
) -> StoredContent:
    """Store `data` (spooled, or small bytes) durably under its SHA-256 and count it; returns what was stored."""
    if isinstance(data, Spool):
        stored = content.put(data, content_type=content_type)
    else:
        stored = content.put_bytes(data, content_type=content_type)
    if stored.written:
        report.add(bytes=stored.size)
    else:
        report.add(deduplicated=1)
    return stored
