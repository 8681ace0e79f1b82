"""Request and response bodies of the API, strict: unknown members, wrong types and out-of-range values are 422s
that name the member, before any handler runs. These types are what the OpenAPI document is generated from."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictStr

from core.errors import InvalidRequestError
from core.models import ResourceKey
from core.restore_request import CONFLICT_POLICIES, RestoreRequest
from core.workloads import registry

RESOURCE_PATTERN = registry.resource_pattern()
RUN_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$"
_EXAMPLE = f"{registry.workload_names()[0]}:7f1d4c0e-7a52-4ad6-9e10"
# in a body a resource may also be named: a UPN or mail address fits the key's pattern, a site URL this one
RESOURCE_REF_PATTERN = rf"{RESOURCE_PATTERN}|^sharepoint:https?://[^\s?#\x00-\x1f\x7f]{{1,400}}$"
ResourceText = Annotated[StrictStr, Field(pattern=RESOURCE_REF_PATTERN, examples=[_EXAMPLE])]
RunText = Annotated[StrictStr, Field(pattern=RUN_PATTERN, examples=["20261122T060000Z"])]
ItemId = Annotated[StrictStr, Field(min_length=1, max_length=512)]
MAX_RESTORE_ITEMS = 1_000
# the enums of the schema (and of the OpenAPI document) are the registry's names
CategoryName = Literal[registry.category_names()]  # type: ignore[valid-type]
WorkloadName = Literal[registry.workload_names()]  # type: ignore[valid-type]
ConflictName = Literal[CONFLICT_POLICIES]  # type: ignore[valid-type]
CATEGORY_HELP = "; ".join(f"{w.name}: {', '.join(c.name for c in w.categories)}" for w in registry.WORKLOADS.values())


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RestoreBody(Strict):
    """What to restore, as of when, where to, and what to do when it is already there. Choose exactly one scope:
    `item_ids`, `folder` (that folder and below) or `whole: true`."""

    resource: ResourceText
    run_id: RunText | None = Field(None, description="restore as of this backup run ...")
    at: AwareDatetime | None = Field(None, description="... or as of the last backup at or before this time")
    item_ids: Annotated[list[ItemId], Field(min_length=1, max_length=MAX_RESTORE_ITEMS)] | None = None
    folder: Annotated[StrictStr, Field(min_length=1, max_length=1024)] | None = None
    whole: StrictBool = False
    category: CategoryName | None = Field(None, description=f"what kind of item (default: the first): {CATEGORY_HELP}")
    destination: Literal["original", "new-folder", "into-archive"] = Field(
        "original", description="'into-archive': archived messages into the in-place archive itself"
    )
    destination_name: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = Field(
        None, description="name of the new folder (default 'Restored <time> UTC')"
    )
    target_resource: ResourceText | None = Field(
        None, description="restore into another resource of the same workload (another user's mailbox, OneDrive, site)"
    )
    conflict: ConflictName = "skip"
    notify_attendees: StrictBool = Field(
        False,
        description="events only: recreate meetings with their attendees, so Exchange sends them invitations, "
        "updates and cancellations again; by default nothing is sent and the attendees are listed in the body",
    )
    use_suspicious: StrictBool = Field(
        False,
        description="with no run_id or at, restore as of the newest point even when it is flagged suspicious (the "
        "ransomware signal); by default such a restore uses the last clean point and the answer's point_note says so",
    )

    def to_core(self) -> RestoreRequest:
        """The core request; InvalidRequestError (400) for combinations the schema cannot express."""
        key = ResourceKey.parse(self.resource)
        declared = registry.workload(key.workload)
        if self.category is not None and self.category not in (allowed := [c.name for c in declared.categories]):
            raise InvalidRequestError(f"category {self.category!r} does not apply to {key.workload}: use {allowed}")
        target_owner = None
        if self.target_resource is not None:
            target = ResourceKey.parse(self.target_resource)
            if target.workload != key.workload:
                raise InvalidRequestError(
                    f"target_resource must be another {key.workload} resource, got {self.target_resource!r}"
                )
            target_owner = target.owner if target.owner != key.owner else None
        if self.destination_name is not None and self.destination != "new-folder":
            raise InvalidRequestError("destination_name applies only to destination 'new-folder'")
        return RestoreRequest(
            resource=self.resource,
            run_id=self.run_id,
            at=self.at,
            item_ids=tuple(self.item_ids or ()),
            folder=self.folder,
            whole=self.whole,
            destination=self.destination,
            destination_name=self.destination_name,
            target_owner=target_owner,
            conflict=self.conflict,
            category=self.category,
            notify_attendees=self.notify_attendees,
            use_suspicious=self.use_suspicious,
        )


class BackupBody(Strict):
    """Back up these resources now (default: every resource discovery finds)."""

    resources: Annotated[list[ResourceText], Field(min_length=1, max_length=1000)] | None = None


class Accepted(BaseModel):
    id: str
    status: str
    status_url: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
    job_id: str | None = Field(None, description="a restore job recorded but not started (503): it is marked failed")


class Page(BaseModel):
    items: list[dict[str, Any]]
    continuation: str | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}, "description": text}
    for status, text in (
        (400, "malformed or impossible request"),
        (401, "missing, malformed, badly signed or expired bearer token"),
        (403, "the caller's roles or ownership do not allow this"),
        (404, "unknown resource, run, item, folder or job"),
        (422, "the request does not match the schema"),
    )
}
CONFLICT_RESPONSE = {409: {**PROBLEM_RESPONSES[400], "description": "a backup run is already pending or running"}}
TOO_LARGE_RESPONSE = {413: {**PROBLEM_RESPONSES[400], "description": "the body is over 256 KiB"}}
START_FAILED_RESPONSE = {
    503: {**PROBLEM_RESPONSES[400], "description": "accepted and recorded, but the orchestration could not be started"}
}
