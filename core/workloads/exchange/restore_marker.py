"""Never twice: every Outlook item a restore creates (message, contact, event) carries two named extended properties
of our own, and they are how a restore knows what is already there and whether a create it lost track of happened.

- `RestoredFrom` = the item's identity in the backup (`resource/category/item id`). "skip" reads a target
  container's keys once (one paged listing with the property expanded) and skips items whose identity, original item
  id or internetMessageId is among them: a copy restored before, or the original itself, is recognised, whether or
  not it has an internetMessageId.
- `RestoreAttempt` = a fresh random value per create. When a create fails after it may have reached Graph (a reset
  connection, a timeout, a 5xx: GraphAmbiguousWrite), the restore asks the container for an item with that value
  (one filtered GET) and uses it if it is there; only if it is not is the create sent again.

The filter and expand forms are the documented ones ("Get singleValueLegacyExtendedProperty",
https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get); the property id format
`String {guid} Name <name>` is from "singleValueLegacyExtendedProperty resource type"."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import GraphAmbiguousWrite, MalformedResponse
from core.graph.client import GraphClient

NAMESPACE = "{3a5c7e2f-6b1d-4f0e-9c8a-2d4b6f8e0a13}"  # this project's property set (a GUID of its own)
SOURCE = f"String {NAMESPACE} Name RestoredFrom"
ATTEMPT = f"String {NAMESPACE} Name RestoreAttempt"
CREATE_ATTEMPTS = 3  # a create whose outcome stays unknown after this many checked tries is reported failed


def source_key(resource: str, category: str, item_id: str) -> str:
    return f"{resource}/{category}/{item_id}"


def _literal(value: str) -> str:
    return value.replace("'", "''")


def marked(body: dict[str, Any], source: str, attempt: str) -> dict[str, Any]:
    """`body` with the two marker properties added to any extended properties it already sets."""
    properties = [p for p in body.get("singleValueExtendedProperties") or [] if p.get("id") not in (SOURCE, ATTEMPT)]
    properties += [{"id": SOURCE, "value": source}, {"id": ATTEMPT, "value": attempt}]
    return {**body, "singleValueExtendedProperties": properties}


def find_attempt(graph: GraphClient, collection: str, attempt: str) -> str | None:
    """The id of the item in `collection` (the URL the create was POSTed to) stamped with `attempt`, if any."""
    query = f"singleValueExtendedProperties/Any(ep: ep/id eq '{ATTEMPT}' and ep/value eq '{_literal(attempt)}')"
    page = graph.get_json(collection, params={"$filter": query, "$select": "id", "$top": "1"})
    for item in page.get("value") or []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return item["id"]
    return None


def create_once(
    graph: GraphClient,
    collection: str,
    body: dict[str, Any],
    source: str,
    send: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Create one item in `collection`, marked with `source`, exactly once: after an ambiguous failure the
    container is asked whether the item exists before anything is sent again. Returns the created item (at
    least its id). `send` replaces the plain JSON POST (e.g. a create with another content type)."""
    attempt = uuid.uuid4().hex
    payload = marked(body, source, attempt)
    post = send or (lambda b: graph.post_json(collection, b))
    for tries in range(1, CREATE_ATTEMPTS + 1):
        try:
            created = post(payload)
        except GraphAmbiguousWrite:
            found = find_attempt(graph, collection, attempt)
            if found is not None:
                return {"id": found}
            if tries == CREATE_ATTEMPTS:
                raise
            continue
        if not isinstance(created.get("id"), str):
            raise MalformedResponse("create answered without an id", url=graph.url(collection))
        return created
    raise AssertionError("unreachable")


@dataclass
class ExistingKeys:
    """What a target container already holds, read once: marker identities, item ids, internetMessageIds."""

    sources: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    internet_message_ids: set[str] = field(default_factory=set)

    def holds(self, source: str, item_id: str, internet_message_id: str = "") -> bool:
        return (
            source in self.sources
            or item_id in self.ids
            or bool(internet_message_id and internet_message_id in self.internet_message_ids)
        )

    def add(self, source: str, new_id: str, internet_message_id: str = "") -> None:
        self.sources.add(source)
        self.ids.add(new_id)
        if internet_message_id:
            self.internet_message_ids.add(internet_message_id)


def existing_keys(graph: GraphClient, collection: str, *, messages: bool = False) -> ExistingKeys:
    """One paged listing of `collection` (a folder's messages, contacts, a calendar's events) with the marker
    expanded: the keys a "skip" restore compares against. Pages of up to 1,000 items."""
    select = "id,internetMessageId" if messages else "id"
    params = {"$select": select, "$top": "1000", "$expand": f"singleValueExtendedProperties($filter=id eq '{SOURCE}')"}
    keys = ExistingKeys()
    for page in graph.iter_pages(collection, params=params):
        for item in page:
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("id"), str):
                keys.ids.add(item["id"])
            if messages and item.get("internetMessageId"):
                keys.internet_message_ids.add(str(item["internetMessageId"]))
            for prop in item.get("singleValueExtendedProperties") or []:
                if isinstance(prop, dict) and prop.get("id", "").lower() == SOURCE.lower() and prop.get("value"):
                    keys.sources.add(str(prop["value"]))
    return keys
