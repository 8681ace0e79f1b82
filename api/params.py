"""Path and query parameters shared by several routes: the resource key, the point in time, paging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query
from pydantic import AwareDatetime

from api.context import Caller, Svc
from api.schemas import RESOURCE_PATTERN, RUN_PATTERN
from core.errors import InvalidRequestError
from core.resource_names import resource_key


def resolved_resource(
    resource: Annotated[
        str,
        Path(
            pattern=RESOURCE_PATTERN,
            description="a resource key: exchange:<user id>, onedrive:<user id>, sharepoint:<site id>; a user may "
            "be named by UPN or mail address (exchange:adele@contoso.com), a team or group by its mail address",
        ),
    ],
    _who: Caller,
    svc: Svc,
) -> str:
    """The path's resource as its key: a UPN or mail address resolved to the object id (core/resource_names.py),
    after the caller is authenticated; a name nobody has is a 404."""
    return resource_key(svc, resource)


ResourcePath = Annotated[str, Depends(resolved_resource)]
PageSize = Annotated[int, Query(ge=1, le=1000, description="items per page")]
Continuation = Annotated[str | None, Query(max_length=4096, description="the token of the previous page")]


@dataclass(frozen=True)
class Point:
    run_id: str | None
    at: datetime | None


def point(
    run_id: Annotated[str | None, Query(pattern=RUN_PATTERN, description="as of this backup run")] = None,
    at: Annotated[AwareDatetime | None, Query(description="as of the last backup at or before this time")] = None,
) -> Point:
    if run_id is not None and at is not None:
        raise InvalidRequestError("give run_id or at, not both")
    return Point(run_id, at)


AtPoint = Annotated[Point, Depends(point)]
