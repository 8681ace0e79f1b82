"""Chat messages of a user's chats: backed up through the delta engine with a watermark round
(core/workloads/chats/chat_backup.py, one catalog item per message, inline images stored beside it), restored into
the chat through migration mode where Graph allows it and otherwise as an export (chats_restore.py), downloaded as
their JSON and exported per chat as an HTML transcript plus JSON (core/exports/transcripts.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.exports.transcripts import JSON, message_file, write_transcripts_zip
from core.workloads.base import Category, Selected, Selection
from core.workloads.chats.chat_messages import CHAT, CHAT_MESSAGE
from core.workloads.chats.chats_restore import CONFLICTS, restore_chat_messages, select_chat_messages
from core.workloads.teams.channel_messages import message_refs

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.restore_request import RestoreReport, RestoreRequest


def _select(services: Services, request: RestoreRequest, run_id: str) -> Selection:
    return Selection(select_chat_messages(services, request, run_id))


def _restore(services: Services, request: RestoreRequest, prepared: Any, items: list[Selected]) -> RestoreReport:
    return restore_chat_messages(services, request, items)


CHAT_MESSAGE_CATEGORY = Category(
    name=CHAT_MESSAGE,
    folder_category=CHAT,
    noun="chat messages",
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
