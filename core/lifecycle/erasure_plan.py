"""The plan of an erasure of one person's data: what `erase --user ID` (or POST /api/v1/erasures) would remove, and
its confirmation code, a short hash of the plan. The erasure (core/lifecycle/erasure.py) runs only when the plan,
computed again at that moment, still hashes to the code the operator confirmed: a backup, a new sharing of content
or a hold placed in between changes the plan, and the old code is refused.

Whose data: a person is a user object id. Every workload whose resources are keyed by a user id (the registry's
`self_service` workloads: the mailbox with its archive, contacts, calendars and To Do tasks; the OneDrive; the chats)
holds one resource of theirs, '<workload>:<user id>'. The plan looks each of those keys up directly (restore points,
catalog versions, delta state and quarantine rows), so a rerun still finds what a stopped erasure left behind. A UPN
or mail address is resolved to the id through Graph (`GET /users/{upn}`); a person already deleted from the tenant
has no UPN there any more: give their object id.

What goes: every restore point and catalog version of those resources, their delta state and quarantine rows, each
content blob only their versions reference (a blob another resource still references stays: content is stored once
per tenant), and the journal blobs that hold their catalog and restore point rows (names, subjects, paths). Blobs
and journal blobs still immutable are marked and deleted by a later run once their protection ends.
What does not go, and why, is listed in `not_erased`."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import GraphError, GraphNotFound, InvalidRequestError, NotFoundError
from core.lifecycle.erasure_removal import JournalFindings, count_unjournaled_rows, find_journal_blobs
from core.lifecycle.removal import content_of
from core.models import ResourceKey
from core.storage.catalog import ItemVersion
from core.workloads import registry

if TYPE_CHECKING:
    from core.bootstrap import Services

USER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+'-]{0,255}$"  # an object id, or a UPN / mail address
_USER = re.compile(USER_PATTERN)
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
NOT_A_PERSONS = "SharePoint sites, Teams channels and Microsoft 365 group conversations"


@dataclass
class ResourcePlan:
    resource: str
    points: list[str]  # run ids
    versions: list[ItemVersion]
    rows: dict[str, int]  # delta state and quarantine rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "workload": ResourceKey.parse(self.resource).workload,
            "points": len(self.points),
            "last_point": self.points[-1] if self.points else "",
            "versions": len(self.versions),
            "bytes": sum(v.size for v in self.versions),
            "delta_rows": self.rows.get("deltastate", 0),
            "quarantine_rows": self.rows.get("quarantine", 0),
        }


@dataclass
class ErasurePlan:
    user: str  # the object id
    given: str  # as asked (an id, a UPN)
    resources: list[ResourcePlan]
    blobs: set[str]  # content only their versions reference: to delete
    shared: int  # content they reference that another resource references too: kept
    blob_bytes: int  # the size their versions record for the blobs to delete
    protected: int  # of the blobs to delete (and pending ones), how many are immutable now
    pending_blobs: set[str]  # marked by an earlier erasure of theirs, not deleted yet
    journal: JournalFindings
    pending_journal: set[str]
    holds: list[dict[str, Any]]  # holds on their resources: the erasure is refused while any is placed
    excluded: bool  # BACKUP_EXCLUDE_USERS names them: the next backup will not take them again
    not_erased: list[str] = field(default_factory=list)
    code: str = ""

    @property
    def resource_keys(self) -> list[str]:
        return [r.resource for r in self.resources]

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "given": self.given,
            "code": self.code,
            "resources": [r.to_dict() for r in self.resources],
            "points": sum(len(r.points) for r in self.resources),
            "versions": sum(len(r.versions) for r in self.resources),
            "bytes": sum(v.size for r in self.resources for v in r.versions),
            "blobs": {
                "remove": len(self.blobs),
                "bytes": self.blob_bytes,
                "shared_kept": self.shared,
                "immutable_now": self.protected,
                "pending_from_earlier": len(self.pending_blobs),
            },
            "journal": {
                "remove": len(self.journal.rows),
                "pending_from_earlier": len(self.pending_journal),
                "kept_deletes_only": self.journal.deletes,
                "kept_mixed": self.journal.mixed,
            },
            "holds": self.holds,
            "excluded_from_backup": self.excluded,
            "not_erased": self.not_erased,
        }


def resolve_user(services: Services, given: str) -> str:
    """The object id of `given`: an id as it is, a UPN or mail address through Graph."""
    text = str(given or "").strip()
    if not _USER.fullmatch(text):
        raise InvalidRequestError(f"not a user id or UPN: {given!r}")
    if "@" not in text:
        return text.lower() if _GUID.fullmatch(text) else text  # resource keys hold Graph's lower-case ids
    try:
        found = services.graph.get_json(f"users/{quote(text, safe='@')}", params={"$select": "id"})
    except GraphNotFound:
        raise NotFoundError(f"no user {text!r} in the tenant (a deleted user: give their object id)") from None
    except GraphError as exc:
        if exc.status == 400:  # Graph's answer to a name that cannot be a UPN
            raise InvalidRequestError(f"not a user id or UPN Graph knows: {text!r}") from None
        raise
    return str(found["id"])


def person_keys(user: str) -> list[str]:
    """Every resource key of the person: one per workload whose resources are keyed by a user id."""
    return [str(ResourceKey(w.name, user)) for w in registry.WORKLOADS.values() if w.self_service]


def referenced_elsewhere(services: Services, candidates: set[str], excluded: set[str]) -> set[str]:
    """The subset of `candidates` some version of a resource NOT in `excluded` references (one catalog scan)."""
    if not candidates:
        return set()
    still: set[str] = set()
    batch: dict[str, list[ItemVersion]] = {}
    for resource, version in services.catalog.every_version():
        if resource in excluded:
            continue
        batch.setdefault(resource, []).append(version)
        if len(batch[resource]) >= 1000:
            still |= content_of(resource, batch.pop(resource)) & candidates
    for resource, versions in batch.items():
        still |= content_of(resource, versions) & candidates
    return still


def plan_erasure(services: Services, given: str, now: datetime | None = None) -> ErasurePlan:
    """What erasing the person would remove now (changes nothing). NotFoundError when nothing of theirs is
    backed up and nothing of an earlier erasure of theirs is pending."""
    now = now or datetime.now(UTC)
    user = resolve_user(services, given)
    resources: list[ResourcePlan] = []
    for key in person_keys(user):
        points = [p["run_id"] for p in services.runs.points(key)]
        versions = list(services.catalog.all_versions(key))
        rows = count_unjournaled_rows(services, key)
        if points or versions or any(rows.values()):
            resources.append(ResourcePlan(key, points, versions, rows))
    keys = {r.resource for r in resources}
    theirs: set[str] = set()
    sizes: dict[str, int] = {}
    for r in resources:
        theirs |= content_of(r.resource, r.versions)
        sizes.update({v.content_hash: v.size for v in r.versions if v.content_hash})
    shared = referenced_elsewhere(services, theirs, keys)
    blobs = theirs - shared
    log = services.erasures
    pending_blobs = log.pending_blobs(user) - blobs if log is not None else set()
    pending_journal = log.pending_journal(user) if log is not None else set()
    journal = find_journal_blobs(services, person_keys(user))
    if not resources and not pending_blobs and not pending_journal and not journal.rows:
        raise NotFoundError(f"nothing of user {user!r} is backed up (and no erasure of theirs is pending)")
    holds = services.holds.all() if services.holds is not None else {}
    plan = ErasurePlan(
        user=user,
        given=str(given).strip(),
        resources=resources,
        blobs=blobs,
        shared=len(shared),
        blob_bytes=sum(sizes.get(sha, 0) for sha in blobs),
        protected=_protected(services, blobs | pending_blobs, now),
        pending_blobs=pending_blobs,
        journal=journal,
        pending_journal=pending_journal,
        holds=[holds[k] for k in person_keys(user) if k in holds],
        excluded=_excluded(services, user, given),
    )
    plan.not_erased = not_erased(plan)
    plan.code = plan_code(plan)
    return plan


def plan_code(plan: ErasurePlan) -> str:
    """A short hash of what the plan removes: the same data gives the same code, any change another."""
    digest = hashlib.sha256()
    for sha in sorted(plan.blobs | plan.pending_blobs):
        digest.update(sha.encode())
    stable = {
        "user": plan.user,
        "resources": [(r.resource, r.points, len(r.versions), sorted(r.rows.items())) for r in plan.resources],
        "blobs": digest.hexdigest(),
        "journal": sorted(plan.journal.rows | plan.pending_journal),
        "holds": [(h["resource"], h["placed_at"]) for h in plan.holds],
    }
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:10]


def _protected(services: Services, blobs: set[str], now: datetime) -> int:
    names = {sha: services.content.stored_names(sha) for sha in blobs}
    until = services.immutability.protected_until([n for group in names.values() for n in group])
    return sum(1 for group in names.values() if any((until.get(n) or now) > now for n in group))


def _excluded(services: Services, user: str, given: str) -> bool:
    excluded = {u.strip().lower() for u in services.settings.exclude_users}
    return bool({user.lower(), str(given).strip().lower()} & excluded)


def not_erased(plan: ErasurePlan) -> list[str]:
    """What the erasure does not reach, and why (shown with the plan, kept with the report)."""
    shared_by = ", ".join(w.name for w in registry.WORKLOADS.values() if not w.self_service)
    notes = [
        f"their posts, messages and files in {NOT_A_PERSONS} ({shared_by} resources): those belong to the site, "
        "team or group, not to one person",
        "copies of their mail, files and chats in other people's resources (a message they sent, in the "
        "recipient's mailbox; a chat is backed up under each member)",
        f"{plan.shared} content blob(s) another resource references too (the same message or file stored once "
        "for the tenant): they stay for that resource",
        "the audit log (who restored, exported, held or erased what: resource keys and item ids, not content) and "
        "restore job records: the record of what was done, this erasure included",
        f"{plan.journal.deletes} journal blob(s) holding only deletes by key of their rows: ids, no names; they "
        "keep a rebuild of the catalog from bringing erased rows back",
    ]
    if plan.journal.mixed:
        notes.append(f"{plan.journal.mixed} journal blob(s) mixing their rows with others' (kept)")
    if not plan.excluded:
        notes.append(
            "WARNING: the next backup takes them again while they are in the tenant: add their id to "
            "BACKUP_EXCLUDE_USERS (or remove the user) before confirming"
        )
    if plan.protected:
        notes.append(
            f"{plan.protected} blob(s) are still immutable: marked now, deleted by a later `erase` of the "
            "same user (or `erase --finish-pending`) once their protection ends"
        )
    return notes
