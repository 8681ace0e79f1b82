"""Contacts of a mailbox: kept as their JSON and photo (core/workloads/exchange/contacts_backup.py), restored into
their contact folders or a new one (contacts_restore.py), downloaded as vCard (.vcf) and exported as a zip of .vcf
files laid out by folder (core/exports/pim_files.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from core.exports.pim_files import VCARD, contact_file, write_contacts_zip
from core.workloads.base import Category, Selected, Selection
from core.workloads.exchange.contacts_backup import CONTACT, CONTACT_FOLDER
from core.workloads.exchange.contacts_restore import restore_contacts, select_contacts
from core.workloads.exchange.mail_restore import CONFLICTS

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.restore_request import RestoreReport, RestoreRequest
    from core.storage.catalog import ItemVersion


def _select(services: Services, request: RestoreRequest, run_id: str) -> Selection:
    return Selection(select_contacts(services, request, run_id))


def _restore(services: Services, request: RestoreRequest, prepared: Any, items: list[Selected]) -> RestoreReport:
    return restore_contacts(services, request, items)


def _content_refs(version: ItemVersion) -> tuple[str, ...]:
    """The contact's JSON and, when it has one, its photo."""
    extra = json.loads(version.extra) if version.extra else {}
    return (version.content_hash, *([extra["photo"]] if extra.get("photo") else []))


CONTACT_CATEGORY = Category(
    name=CONTACT,
    folder_category=CONTACT_FOLDER,
    noun="contacts",
    conflicts=CONFLICTS,
    select=_select,
    restore=_restore,
    download=contact_file,
    export_zip=write_contacts_zip,
    splits=False,
    fallback_name="contact",
    suffix=".vcf",
    media_type=VCARD,
    content_refs=_content_refs,
)
