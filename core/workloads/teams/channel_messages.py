"""Channel messages of a team: backed up through the delta engine (core/workloads/teams/messages_backup.py, one
catalog item per root or reply, inline images stored beside it), restored through migration mode with their
original authors and times (messages_restore.py), downloaded as their JSON and exported per channel as an HTML
transcript plus JSON (core/exports/transcripts.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from core.exports.transcripts import JSON, message_file, write_transcripts_zip
from core.workloads.base import Category, Selected, Selection
from core.workloads.teams.messages_backup import CHANNEL, CHANNEL_MESSAGE
from core.workloads.teams.messages_restore import CONFLICTS, restore_messages, select_messages

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.restore_request import RestoreReport, RestoreRequest
    from core.storage.catalog import ItemVersion


def _select(services: Services, request: RestoreRequest, run_id: str) -> Selection:
    return Selection(select_messages(services, request, run_id))


def _restore(services: Services, request: RestoreRequest, prepared: Any, items: list[Selected]) -> RestoreReport:
    return restore_messages(services, request, items)


def message_refs(version: ItemVersion) -> tuple[str, ...]:
    """The message's JSON and its inline images (a channel's or a chat's)."""
    extra = json.loads(version.extra) if version.extra else {}
    return (version.content_hash, *(h["sha256"] for h in extra.get("hosted") or []))


CHANNEL_MESSAGE_CATEGORY = Category(
    name=CHANNEL_MESSAGE,
    folder_category=CHANNEL,
    noun="channel messages",
    conflicts=CONFLICTS,
    select=_select,
    restore=_restore,
    download=message_file,
    export_zip=write_transcripts_zip,
    splits=False,
    fallback_name="message",
    suffix=".json",
    media_type=JSON,
    content_refs=message_refs,
)
