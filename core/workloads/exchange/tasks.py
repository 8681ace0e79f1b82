"""Microsoft To Do tasks of a mailbox: kept as their JSON with checklist items and linked resources, attachments
beside them (core/workloads/exchange/tasks_backup.py), restored into their lists or a new one (tasks_restore.py),
downloaded as JSON and exported as a zip of JSON files laid out by list (core/exports/tasks_export.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.exports.tasks_export import JSON_TYPE, task_file, write_tasks_zip
from core.workloads.base import Category, Selected, Selection
from core.workloads.exchange.mail_restore import CONFLICTS
from core.workloads.exchange.tasks_backup import TASK, TASK_LIST, attachment_refs
from core.workloads.exchange.tasks_restore import restore_tasks, select_tasks

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.restore_request import RestoreReport, RestoreRequest
    from core.storage.catalog import ItemVersion


def _select(services: Services, request: RestoreRequest, run_id: str) -> Selection:
    return Selection(select_tasks(services, request, run_id))


def _restore(services: Services, request: RestoreRequest, prepared: Any, items: list[Selected]) -> RestoreReport:
    return restore_tasks(services, request, items)


def _content_refs(version: ItemVersion) -> tuple[str, ...]:
    """The task's JSON and each of its attachments."""
    return (version.content_hash, *attachment_refs(version.extra))


TASK_CATEGORY = Category(
    name=TASK,
    folder_category=TASK_LIST,
    noun="tasks",
    conflicts=CONFLICTS,
    select=_select,
    restore=_restore,
    download=task_file,
    export_zip=write_tasks_zip,
    splits=False,
    fallback_name="task",
    suffix=".json",
    media_type=JSON_TYPE,
    content_refs=_content_refs,
)
