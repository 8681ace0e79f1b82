"""The job of one item kind's backup of one resource, built from the services: what the Outlook kinds' delta
machinery (core/workloads/container_delta.py) touches, the same for a mailbox's kinds, a site's lists, a team's
channels and a user's chats."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from core.storage.live_index import LiveIndex
from core.workloads.container_delta import ItemKind, MailboxJob

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport
    from core.storage.catalog import CatalogWriter
    from core.storage.quarantine import HeldItem


def kind_job(
    services: Services,
    resource: str,
    owner: str,
    run_id: str,
    report: BackupReport,
    kind: ItemKind,
    pool: ThreadPoolExecutor,
    held: list[HeldItem] | None = None,
    writer: CatalogWriter | None = None,
) -> MailboxJob:
    """`owner`: the id the kind's Graph paths name (a user, a site, a team); `held`: the resource's held items when
    already read (None: read here), of which this kind's are kept; `writer`: the catalog writer it shares with other
    kinds of the resource (None: one of its own)."""
    held = services.quarantine.held(resource) if held is None else held
    return MailboxJob(
        user=owner,
        resource=resource,
        run_id=run_id,
        graph=services.graph,
        content=services.content,
        delta_state=services.delta_state,
        writer=writer if writer is not None else services.catalog.writer(resource),
        index=LiveIndex(services.catalog, resource, kind.category),  # what the run touches, not all it holds
        report=report,
        pool=pool,
        page_size=services.settings.page_size,
        kind=kind,
        settings=services.settings,
        catalog=services.catalog,
        quarantine=services.quarantine,
        held={h.item_id: h for h in held if h.category == kind.category},
    )
