"""Applying one drive delta round as a whole (https://learn.microsoft.com/graph/api/driveitem-delta: "After you have
finished receiving all the changes, you may apply them to your local state", and "you should only delete a folder
locally if it is empty after syncing all the changes").

Delta promises no order within a round: a folder's deletion may come before the move of a child folder out of it,
and a folder moved under another may come before that other moved out of it (a parent cycle that exists only
mid-round). So the round is applied to the state it ends in, never entry by entry: every item's final parent is
known first; an item ends when it is deleted, or when its final parent chain reaches a deleted folder (Graph
deletes a folder with everything in it, and delta may list only the folder). That is one pass over the live
folders (each resolved once), however many folders the round deletes, and over the files that can end: those the
round lists or deletes, and the live files of each folder that ends (the file index is read as the run asks,
core/storage/live_index.py).

Writes go folders first, then files in chunks (content stored, then the chunk's versions committed), then the
ends; the caller saves the delta link only after all of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.storage.catalog import ItemVersion, OpenVersion
from core.workloads.files.drive_capture import (
    GONE,
    RECHECK,
    SHARED_CHANGED,
    Captured,
    Outcome,
    capture,
    content_tag,
    wants_permissions,
)
from core.workloads.files.drive_metadata import file_extra, folder_extra, permissions_digest

if TYPE_CHECKING:
    from core.workloads.files.drive_backup import DriveJob

FILE = "file"
DRIVE_FOLDER = "dfolder"
CHUNK = 256  # items captured (in parallel) and committed at a time
FOLDER_QUERIES = 50  # folders a round may end before their files are found by loading the file index whole


@dataclass
class RoundResult:
    seen: set[str] = field(default_factory=set)  # items live at the end of the round (a full enumeration's view)
    failed: dict[str, tuple[str, str, Exception]] = field(default_factory=dict)  # key -> (category, label, error)
    gone: set[str] = field(default_factory=set)  # items deleted (listed so, or found so by id)


def composite(drive_id: str, item_id: str) -> str:
    return f"{drive_id}/{item_id}"


def plan_removals(
    folder_parents: dict[str, str], file_parents: dict[str, str], deleted: set[str]
) -> tuple[set[str], set[str]]:
    """(folders, files) that end: deleted themselves, or below a deleted folder by their final parents. Linear:
    each folder's fate is resolved once and remembered; a parent chain that loops (it cannot in a consistent end
    state) or leaves the known folders ends the walk as alive."""
    dead: dict[str, bool] = dict.fromkeys(deleted, True)

    def is_dead(start: str) -> bool:
        path: list[str] = []
        on_path: set[str] = set()
        node = start
        while node and node not in dead and node not in on_path:
            path.append(node)
            on_path.add(node)
            node = folder_parents.get(node, "")
        verdict = bool(node) and dead.get(node, False)
        for each in path:
            dead[each] = verdict
        return verdict

    folders = {k for k in folder_parents if is_dead(k)}
    files = {k for k, parent in file_parents.items() if k in deleted or (parent and is_dead(parent))}
    return folders, files


def _removals(
    job: DriveJob, folder_parents: dict[str, str], listed: dict[str, str], deleted: set[str]
) -> tuple[set[str], set[str]]:
    """plan_removals over every folder (their index is whole) and only the files that can end: those `listed` in
    the round (with their final parents), those deleted, and the live files of each folder that ends (one
    filtered query per folder, or the file index loaded whole when the round ends more than FOLDER_QUERIES)."""
    dead_folders, _ = plan_removals(folder_parents, {}, deleted)
    if len(dead_folders) > FOLDER_QUERIES:
        file_parents = {k: v.folder_id for k, v in job.files.items()}
    else:
        file_parents = {}
        for folder in sorted(dead_folders):
            file_parents.update((k, v.folder_id) for k, v in job.files.in_folder(folder))
        for key in sorted(deleted - folder_parents.keys() - file_parents.keys()):
            known = job.files.get(key)
            if known is not None:
                file_parents[key] = known.folder_id
    file_parents.update(listed)
    return plan_removals(folder_parents, file_parents, deleted)


def apply_round(job: DriveJob, entries: dict[str, dict]) -> RoundResult:
    """Apply a whole round (composite id -> the item's last listing in the round) to the catalog."""
    result = RoundResult()
    deleted = {k for k, e in entries.items() if "deleted" in e}
    folders = {k: e for k, e in entries.items() if k not in deleted and ("folder" in e or "root" in e)}
    files = {k: e for k, e in entries.items() if k not in deleted and "file" in e and k not in folders}
    # other items (OneNote packages, remote items shared from elsewhere) hold no content of this drive
    dead_folders: set[str] = set()
    dead_files: set[str] = set()
    if deleted:
        folder_parents = {k: v.folder_id for k, v in job.folders.items()}
        folder_parents.update({k: _folder_parent(job, e) for k, e in folders.items()})
        listed = {k: parent_of(job, e) for k, e in files.items()}
        dead_folders, dead_files = _removals(job, folder_parents, listed, deleted)
    result.gone = deleted | dead_folders | dead_files
    folder_work = [(k, e) for k, e in folders.items() if k not in dead_folders]
    file_work = [(k, e) for k, e in files.items() if k not in dead_files]
    result.seen = {k for k, _ in folder_work} | {k for k, _ in file_work}
    gone_now: set[str] = set()
    for chunk in _chunks([t for t in (_folder_task(job, k, e) for k, e in folder_work) if t]):
        _record_chunk(job, chunk, DRIVE_FOLDER, result, gone_now)
    for chunk in _chunks([t for t in (_file_task(job, k, e) for k, e in file_work) if t]):
        _record_chunk(job, chunk, FILE, result, gone_now)
    if gone_now:  # found deleted while being captured: they end, with whatever is below them
        more_folders, more_files = _removals(job, {k: v.folder_id for k, v in job.folders.items()}, {}, gone_now)
        dead_folders |= more_folders
        dead_files |= more_files
        result.gone |= gone_now | more_folders | more_files
        result.seen -= result.gone
    end_versions(job, dead_folders, dead_files)
    return result


Task = tuple[str, dict, OpenVersion | None, bool, bool]  # key, entry, known version, fetch content, read permissions


def _folder_task(job: DriveJob, key: str, entry: dict) -> Task | None:
    known = job.folders.get(key)
    base = f"{_folder_parent(job, entry)}\n{_name(entry)}"
    known_base, digest = _split(known, 2)
    if known is not None and known_base == base and not _flagged(entry):
        return None
    return key, entry, known, False, "root" not in entry and wants_permissions(job, entry, digest)


def _file_task(job: DriveJob, key: str, entry: dict) -> Task | None:
    known = job.files.get(key)
    base = f"{content_tag(entry)}\n{parent_of(job, entry)}\n{_name(entry)}"
    known_base, digest = _split(known, 3)
    if known is not None and known_base == base and not _flagged(entry):
        return None  # nothing changed (a parent listed for a change below it)
    fetch = known is None or known_base.split("\n", 1)[0] != content_tag(entry)
    return key, entry, known, fetch, wants_permissions(job, entry, digest)


def _record_chunk(job: DriveJob, tasks: list[Task], category: str, result: RoundResult, gone: set[str]) -> None:
    outcomes: list[Outcome] = list(job.pool.map(lambda t: capture(job, t[1], t[2], t[3], t[4]), tasks))
    for (key, entry, known, _, _), outcome in zip(tasks, outcomes, strict=True):
        if isinstance(outcome, Captured):
            _record(job, category, key, known, outcome)
        elif outcome == GONE:
            gone.add(key)
        elif isinstance(outcome, Exception):
            result.failed[key] = (category, f"{job.drive_name}: {entry.get('name', '')} ({entry['id']})", outcome)
    job.writer.flush()  # this chunk's content is stored: its versions are committed


def _record(job: DriveJob, category: str, key: str, known: OpenVersion | None, captured: Captured) -> None:
    """The item's new version, unless it describes what its live version does (e.g. flagged as a sharing change,
    yet the permissions read are the same). A folder's describes its parent and name, a file's its content too."""
    entry, is_file = captured.entry, category == FILE
    parent, name = (parent_of(job, entry) if is_file else _folder_parent(job, entry)), _name(entry)
    described = f"{content_tag(entry)}\n{parent}\n{name}" if is_file else f"{parent}\n{name}"
    signature = _signature(described, captured.permissions)
    if known is not None and known.change_key == signature:
        return
    extra = file_extra(job.content, entry, captured.permissions) if is_file else folder_extra(
        job.content, captured.permissions)  # fmt: skip
    version = ItemVersion(category=category, item_id=key, first_seen_run=job.run_id, folder_id=parent,
                          content_hash=captured.sha256 if is_file else "", size=captured.size if is_file else 0,
                          name=name, modified=str(entry.get("lastModifiedDateTime") or ""), change_key=signature,
                          container_id=job.drive_id, extra=extra)  # fmt: skip
    job.writer.supersede(known, version)
    live = OpenVersion(job.run_id, parent, version.content_hash, signature, version.size)
    if is_file:
        was = known.change_key.split("\n") if known is not None else []
        job.report.signals.file_version(name, new=known is None, content_changed=was[:1] != [content_tag(entry)],
                                        renamed=len(was) > 2 and was[2] != name)  # fmt: skip
        job.files[key] = live
        job.report.add(items=1)
    else:
        job.folders[key] = live


def end_versions(job: DriveJob, folders: set[str], files: set[str]) -> None:
    """End the live versions of these folders and files at this run (deleted, or gone with their drive)."""
    for key in sorted(folders & job.folders.keys()):
        job.writer.close(DRIVE_FOLDER, key, job.folders.pop(key).first_seen_run, job.run_id)
    for key in sorted(files & job.files.keys()):
        job.writer.close(FILE, key, job.files.pop(key).first_seen_run, job.run_id)
        job.report.add(removed=1)
        job.report.signals.file_deleted()


def parent_of(job: DriveJob, entry: dict) -> str:
    parent = (entry.get("parentReference") or {}).get("id")
    return composite(job.drive_id, parent) if isinstance(parent, str) and parent else ""


def _folder_parent(job: DriveJob, entry: dict) -> str:
    return "" if "root" in entry else parent_of(job, entry)


def _name(entry: dict) -> str:
    return "" if "root" in entry else str(entry.get("name") or "")


def _flagged(entry: dict) -> bool:
    """Listed for a sharing change (or retried from quarantine): compared again even if nothing else changed."""
    return bool(entry.get(SHARED_CHANGED)) or bool(entry.get(RECHECK))


def _signature(base: str, permissions: str) -> str:
    """A version's change key: what it describes (content tag, parent, name), then its permissions' digest."""
    digest = permissions_digest(permissions)
    return f"{base}\n{digest}" if digest else base


def _split(known: OpenVersion | None, lines: int) -> tuple[str, str]:
    """(what a change key describes, its permissions digest or '')."""
    if known is None:
        return "", ""
    parts = known.change_key.split("\n")
    return "\n".join(parts[:lines]), "\n".join(parts[lines:])


def _chunks(tasks: list[Task]) -> list[list[Task]]:
    return [tasks[i : i + CHUNK] for i in range(0, len(tasks), CHUNK)]
