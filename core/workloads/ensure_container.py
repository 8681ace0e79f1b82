"""Finding or making the container a restore writes into (a mail folder, a contact folder, a calendar, a drive
folder), one mechanism for every category: each says how to look a child container up by name and how to create
one; this decides when to do which, so that a create is never sent blindly twice.

A create that Graph answers with 409 (a container of that name exists: made meanwhile by another part or restore,
or by this very create whose first answer was lost and which the client sent again) is answered by looking the
container up, never by creating another. Creates are sent replay-safe for that reason: a repeat can only be refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.errors import GraphConflict, MalformedResponse

Find = Callable[[], "str | None"]  # the id of the container of that name under the parent, if there is one
Create = Callable[[], "dict[str, Any]"]  # create it; GraphConflict when one of that name exists


def ensure_child(find: Find, create: Create, *, look_first: bool = True, what: str = "container") -> tuple[str, bool]:
    """(id of the container, whether this call made it). `look_first`: look it up before creating (False when
    the parent is known to be new or a lookup costs more than a refused create)."""
    if look_first:
        found = find()
        if found is not None:
            return found, False
    try:
        created = create()
    except GraphConflict:
        found = find()
        if found is None:
            raise
        return found, False
    made = created.get("id") if isinstance(created, dict) else None
    if not isinstance(made, str) or not made:
        raise MalformedResponse(f"{what} create answered without an id")
    return made, True


def child_named(children: list[dict[str, Any]], name: str, field: str = "displayName") -> str | None:
    """The id of the child whose `field` is `name`, if any."""
    return next((str(c["id"]) for c in children if c.get(field) == name and isinstance(c.get("id"), str)), None)
