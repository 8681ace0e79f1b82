"""What a restore asks for, validated before anything is written, and what it did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from core import work_progress
from core.errors import InvalidRequestError
from core.models import ResourceKey

if TYPE_CHECKING:
    from core.workloads.base import Category

DESTINATIONS = ("original", "new-folder", "into-archive")  # the last: categories with the option 'into_archive'
CONFLICT_POLICIES = ("skip", "keep-both", "replace", "fail")  # mail: skip, keep-both; files: all four
_FIELDS = {
    "resource", "run_id", "at", "item_ids", "folder", "whole", "destination", "target_owner", "conflict", "category",
    "destination_name", "part", "parts", "notify_attendees", "use_suspicious",
}  # fmt: skip
T = TypeVar("T")


def _safe_folder_name(name: str) -> bool:
    return (
        0 < len(name) <= 200
        and name.strip() == name
        and name not in (".", "..")
        and not any(c in name for c in '/\\:*?"<>|#%')
        and all(ord(c) >= 32 for c in name)
    )


def _usable_owner(owner: str) -> bool:
    """An owner id that names one user or site in a Graph path: not empty, no '/', and not a '.' or '..' segment
    (`users/.` would be read as `users/`, the listing of every user)."""
    return bool(owner.strip()) and owner.strip(".") != "" and "/" not in owner and "\\" not in owner


def _takers(option: str) -> str:
    """The categories a restore option applies to, for an error message: "calendar events (category 'event')"."""
    from core.workloads.registry import WORKLOADS

    kinds = {c.name: c for w in WORKLOADS.values() for c in w.categories if option in c.options}
    return " or ".join(f"{c.noun} (category {c.name!r})" for c in kinds.values())


def part_bounds(items: int, part: int, parts: int) -> tuple[int, int]:
    """[low, high): the positions (in item id order) of part `part` of `parts` of a selection of `items`; parts
    differ in size by at most one and together cover the selection once."""
    return items * part // parts, items * (part + 1) // parts


@dataclass(frozen=True)
class RestoreRequest:
    resource: str  # 'exchange:<user id>'
    run_id: str | None = None  # restore as of this run ...
    at: datetime | None = None  # ... or as of the last backup at or before this time (default: the latest)
    item_ids: tuple[str, ...] = ()  # scope: these items ...
    folder: str | None = None  # ... or everything in this folder path and below ...
    whole: bool = False  # ... or the whole resource
    destination: str = "original"  # 'original' folders, a new 'Restored <time>' folder, or 'into-archive'
    target_owner: str | None = None  # restore into another user's mailbox (default: the same)
    conflict: str = "skip"  # 'skip' what is already there, 'keep-both', ...: the category's conflicts
    category: str | None = None  # which of the workload's categories (core/workloads/registry.py; None: its first)
    destination_name: str | None = None  # the new folder's name (default 'Restored <time> UTC'); every part shares it
    part: int = 0  # a large restore runs as `parts` parts in parallel: this one restores its slice of the
    parts: int = 1  # selection sorted by item id (see part_bounds)
    notify_attendees: bool = False  # events: recreate meetings with their attendees, so Exchange SENDS invitations,
    # updates and cancellations to them; by default they are left out (nothing is sent) and listed in the body
    use_suspicious: bool = False  # no run or time given and the newest point flagged suspicious (core/signals/):
    # restore as of it all the same; by default such a restore goes to the last clean point, and says so

    def __post_init__(self) -> None:
        try:
            key = ResourceKey.parse(self.resource)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
        if not _usable_owner(key.owner):
            raise InvalidRequestError(f"{key.owner!r} is not a usable user or site id in {self.resource!r}")
        if self.target_owner is not None:
            target = str(self.target_owner)
            if not isinstance(self.target_owner, str) or not _usable_owner(target.partition(":")[2] or target):
                raise InvalidRequestError(f"{self.target_owner!r} is not a usable user or site id to restore into")
        scopes = sum([bool(self.item_ids), self.folder is not None, self.whole])
        if scopes != 1:
            raise InvalidRequestError("choose exactly one scope: item ids, a folder, or the whole resource")
        if self.run_id is not None and self.at is not None:
            raise InvalidRequestError("give a run id or a point in time, not both")
        if self.destination not in DESTINATIONS:
            raise InvalidRequestError(f"destination must be one of {DESTINATIONS}, got {self.destination!r}")
        if self.conflict not in CONFLICT_POLICIES:
            raise InvalidRequestError(f"conflict must be one of {CONFLICT_POLICIES}, got {self.conflict!r}")
        self._settle_category(key.workload)
        if not (isinstance(self.parts, int) and isinstance(self.part, int) and 0 <= self.part < self.parts):
            raise InvalidRequestError(f"part must be in [0, parts), got part={self.part!r} parts={self.parts!r}")
        if self.destination_name is not None and not _safe_folder_name(self.destination_name):
            raise InvalidRequestError(f"destination_name is not a usable folder name: {self.destination_name!r}")
        if self.at is not None and self.at.tzinfo is None:
            raise InvalidRequestError("a point in time must carry a time zone (e.g. 2026-11-22T06:00:00Z)")
        if not isinstance(self.use_suspicious, bool):
            raise InvalidRequestError("'use_suspicious' must be true or false")
        if not isinstance(self.notify_attendees, bool):
            raise InvalidRequestError("'notify_attendees' must be true or false")
        if self.notify_attendees and "notify_attendees" not in self.kind.options:
            raise InvalidRequestError(f"notify_attendees applies only to {_takers('notify_attendees')}")
        if self.destination == "into-archive" and "into_archive" not in self.kind.options:
            raise InvalidRequestError(f"destination 'into-archive' applies only to {_takers('into_archive')}")

    def _settle_category(self, workload: str) -> None:
        """The category named (or the workload's default) checked against the registry, and stored by its name."""
        from core.workloads.registry import workload as workload_named  # the registry imports every workload

        declared = workload_named(workload)
        name = declared.aliases.get(self.category, self.category) if self.category is not None else None
        object.__setattr__(self, "category", declared.category(name).name)

    @property
    def kind(self) -> Category:
        """The category restored, as the registry declares it."""
        from core.workloads.registry import category_for

        return category_for(self.resource, self.category)

    def new_folder_name(self, now: datetime | None = None) -> str:
        """The folder a 'new-folder' restore goes into: the name given, else 'Restored <time> UTC'."""
        return self.destination_name or f"Restored {(now or datetime.now(UTC)):%Y-%m-%d %H%M%S} UTC"

    def select_part(self, items: list[T], key: Callable[[T], str]) -> list[T]:
        """This part's share of a selection: all of it for a one-part restore; else its slice of the selection in
        item id order (see part_bounds: the same selection always splits the same way, so parts never overlap)."""
        if self.parts == 1:
            return items
        low, high = part_bounds(len(items), self.part, self.parts)
        return sorted(items, key=key)[low:high]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; `from_dict(to_dict())` gives an equal request."""
        data = asdict(self)
        data["item_ids"] = list(self.item_ids)
        data["at"] = self.at.isoformat() if self.at else None
        return data

    @property
    def key(self) -> ResourceKey:
        return ResourceKey.parse(self.resource)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RestoreRequest:
        """Strict: unknown fields and wrong types are errors, not ignored."""
        if not isinstance(data, dict):
            raise InvalidRequestError("a restore request is a JSON object")
        unknown = set(data) - _FIELDS
        if unknown:
            raise InvalidRequestError(f"unknown fields: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "at" in values and values["at"] is not None:
            try:
                values["at"] = datetime.fromisoformat(str(values["at"]).replace("Z", "+00:00"))
            except ValueError:
                raise InvalidRequestError(f"'at' is not an ISO 8601 time: {values['at']!r}") from None
        if "item_ids" in values:
            ids = values["item_ids"]
            if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
                raise InvalidRequestError("'item_ids' must be a list of non-empty strings")
            values["item_ids"] = tuple(ids)
        for name in ("part", "parts"):
            if name in values and (not isinstance(values[name], int) or isinstance(values[name], bool)):
                raise InvalidRequestError(f"'{name}' must be an integer")
        for name in (
            "resource", "run_id", "folder", "destination", "target_owner", "conflict", "category", "destination_name",
        ):  # fmt: skip
            if name in values and values[name] is not None and not isinstance(values[name], str):
                raise InvalidRequestError(f"'{name}' must be a string")
        for name in ("whole", "notify_attendees", "use_suspicious"):
            if name in values and not isinstance(values[name], bool):
                raise InvalidRequestError(f"'{name}' must be true or false")
        if "resource" not in values:
            raise InvalidRequestError("'resource' is required")
        return cls(**values)


@dataclass
class RestoreReport:
    resource: str
    run_id: str
    target_owner: str
    destination: str  # the folder path restored into ('' = original folders)
    restored: int = 0
    skipped: int = 0
    failed: int = 0
    # item_id, new_id, folder, sha256, status; events restored without their attendees (nothing sent to them) also
    # carry attendees_omitted: how many were left out (they are listed at the top of the event's body)
    items: list[dict[str, str]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    point_note: str = ""  # why the point differs from the newest one (the last clean point: core/signals/)

    def __post_init__(self) -> None:
        # who watches the restore (the CLI's progress line), taken now: a category's pool threads report through
        # it; not a field, so never in to_dict() (none: the API and Durable paths, and each report is a no-op)
        self._watcher = work_progress.watcher()

    def _finished(self, item_id: str, status: str) -> None:
        if self._watcher is not None:
            self._watcher.finished(item_id, status)

    def skip(self, entry: dict[str, str], new_id: str = "") -> None:
        """An item left alone: it is already there (conflict policy skip)."""
        self.skipped += 1
        self.items.append({**entry, "status": "skipped", "new_id": new_id})
        self._finished(entry["item_id"], "skipped")

    def fail(self, item_id: str, error: object) -> None:
        self.failed += 1
        self.failures.append({"item_id": item_id, "error": str(error)[:500]})
        self._finished(item_id, "failed")

    def done(self, entry: dict[str, str], new_id: str, status: str = work_progress.RESTORED) -> None:
        """An item restored (`status`: how, when not by a write of its own: a chat message 'exported')."""
        self.restored += 1
        self.items.append({**entry, "status": status, "new_id": new_id})
        self._finished(entry["item_id"], work_progress.RESTORED)

    def came_with(self, item_id: str) -> None:
        """An item of the selection handled with another one (a series' exception, with its series): done for
        whoever watches the progress; the report counts the other one."""
        self._finished(item_id, "along")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
