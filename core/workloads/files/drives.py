"""What the OneDrive and SharePoint workloads share: a resource's drives backed up into one catalog partition
through the delta engine (core.delta.lifecycle), by the drive adapter here: a round per drive
(drive_backup.run_round), held items read by id and re-applied (drive_held.py), and a drive the resource no
longer lists ended only once a read of it by id answers 404."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.lifecycle import Resource, RoundDone, Settlement, States, run_category
from core.errors import GraphNotFound
from core.storage.catalog import CatalogWriter, OpenVersion
from core.storage.delta_state import DeltaState
from core.storage.live_index import LiveIndex
from core.storage.quarantine import HeldItem
from core.workloads.files import drive_backup, drive_held

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport


class DriveKind:
    """The drives of one resource (a OneDrive, a site's libraries), as the engine drives them."""

    category = drive_backup.DRIVE
    label = "drive"
    retry_outside = False  # held items of a drive not backed up (excluded) wait for it; a gone drive releases them

    def __init__(
        self,
        services: Services,
        run_id: str,
        resource: str,
        report: BackupReport,
        pool: ThreadPoolExecutor,
        held: list[HeldItem] | None = None,
    ) -> None:
        """`held`: the resource's held items when already read (None: read here), of which the drives' are kept."""
        self.services, self.run_id, self.resource, self.report, self.pool = services, run_id, resource, report, pool
        self.writer: CatalogWriter = services.catalog.writer(resource)
        # files as the run touches them (core/storage/live_index.py: memory follows the changes, not the drive);
        # folders whole, as mail folders are: a round's deletions walk their parent chains
        self.files = LiveIndex(services.catalog, resource, drive_backup.FILE)
        self.folders: dict[str, OpenVersion] = services.catalog.open_index(resource, drive_backup.DRIVE_FOLDER)
        report.signals.track(self.files.count())  # the ransomware signal's denominator (core/signals/)
        categories = (drive_backup.FILE, drive_backup.DRIVE_FOLDER)
        held = services.quarantine.held(resource) if held is None else held
        self.held: dict[str, HeldItem] = {i.item_id: i for i in held if i.category in categories}
        self._names: dict[str, str] = {}

    def job(self, drive_id: str) -> drive_backup.DriveJob:
        return drive_backup.DriveJob(
            resource=self.resource,
            run_id=self.run_id,
            drive_id=drive_id,
            drive_name=self._names.get(drive_id, drive_id),
            graph=self.services.graph,
            content=self.services.content,
            delta_state=self.services.delta_state,
            writer=self.writer,
            files=self.files,
            folders=self.folders,
            report=self.report,
            pool=self.pool,
            page_size=self.services.settings.page_size,
            quarantine=self.services.quarantine,
            held={k: i for k, i in self.held.items() if i.container_id == drive_id},
        )

    def record(self, containers: list[Container]) -> None:
        self._names.update({c.id: c.path for c in containers})  # drives are not catalogued themselves

    def known(self, states: States) -> dict[str, str]:
        """Drives with a link, a folder (a drive's root is one), a held item, or (the files loaded) a file."""
        known = {cid: state.container_path for (category, cid), state in states.items() if category == self.category}
        keys = (*self.files, *self.folders) if self.files.loaded else self.folders
        for drive_id in {key.split("/", 1)[0] for key in keys} | {i.container_id for i in self.held.values()}:
            known.setdefault(drive_id, drive_id)
        return known

    def run_round(self, container: Container, state: DeltaState | None) -> RoundDone:
        return drive_backup.run_round(self.job(container.id), state)

    def end_unseen(self, container: Container, seen: set[str]) -> None:
        drive_backup.end_unseen(self.job(container.id), seen)

    def read_held(self, item: HeldItem) -> dict | None:
        return drive_held.read_held(self.job(item.container_id), item.item_id)

    def apply_held(self, read: dict[str, dict | None], unread: dict[str, Exception]) -> Settlement:
        done = Settlement()
        for drive_id in sorted({self.held[k].container_id for k in (*read, *unread)}):
            job = self.job(drive_id)
            mine = {k: v for k, v in read.items() if k in job.held}
            settled = drive_held.apply_held(job, mine, {k: e for k, e in unread.items() if k in job.held})
            done.failures.extend(settled.failures)
            done.released.extend(settled.released)
        return done

    def end_container(self, container: Container) -> Settlement:
        """A drive no longer in the resource's list: ended if Graph confirms it is gone (404 by id), else kept."""
        self._names.setdefault(container.id, container.path)
        try:
            self.services.graph.get_json(f"drives/{quote(container.id, safe='')}", params={"$select": "id"})
        except GraphNotFound:
            settlement = drive_backup.end_drive(self.job(container.id))
            self.report.note(f"drive {container.path} is gone: its items end at this run")
            return settlement
        self.report.note(f"drive {container.path} is no longer listed but still exists: kept as it was")
        return Settlement()

    def flush(self) -> None:
        self.writer.flush()

    def dropped(self) -> int:
        return self.writer.dropped


def backup_drives(
    services: Services,
    run_id: str,
    resource: str,
    drives: list[tuple[str, str]],
    report: BackupReport,
    present: set[str] | None = None,
    held: list[HeldItem] | None = None,
) -> None:
    """Back up each (drive id, name) of the resource; one drive failing does not stop the others. `present`: every
    drive the resource has now (backed up or not, e.g. excluded by a selector; default: `drives`). A drive the
    resource had before and no longer has is ended once a read by id confirms it is gone. `held`: the resource's
    held items when its backup already read them for its other kinds (a site's lists; None: read here)."""
    containers = [Container(drive_id, name, "", name) for drive_id, name in drives]
    where = Resource(resource, run_id, report, services.delta_state, services.quarantine)
    with ThreadPoolExecutor(services.settings.item_concurrency, thread_name_prefix="drive-item") as pool:
        run_category(where, DriveKind(services, run_id, resource, report, pool, held), containers, present)
