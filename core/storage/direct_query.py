"""A table query sent as a signed GET, built here instead of by azure-data-tables: the SDK's query costs ~2 ms of
CPU per request on this project's machines (its pipeline of policies, the generated request builder, the
deserializer), and a backup asks the catalog and the delta state ~14 times per mailbox before it writes anything,
once more per changed item an incremental looks up (core/storage/live_index.py).

The request is the REST API's, as documented:
https://learn.microsoft.com/rest/api/storageservices/query-entities (`GET /{table}()` with `$filter`, `$select`,
`$top`; a page that is not the last answers with `x-ms-continuation-NextPartitionKey` / `-NextRowKey`, sent back as
`NextPartitionKey` / `NextRowKey`), signed as the Table service's Shared Key is (verb, Content-MD5, Content-Type,
date, resource: https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key#table-service-shared-key-authorization)
or with the managed identity's token. Entities come back as the SDK gives them (a dict of the row's properties with
PartitionKey and RowKey, without the service's `odata.*` and `Timestamp`), for rows whose properties are all of the
JSON types the service sends untyped (strings, 32-bit integers, booleans, doubles); a page holding any typed value
(`@odata.type`: Int64, DateTime, Binary, Guid) is read again through the SDK, which converts it.

Only a definite answer is taken from this path: 200 with a JSON page. Anything else, a dropped connection
included, hands that page and the rest of the query to the SDK, from the same continuation, which retries and
raises the errors the app knows (a read is safe to send again). A 401 or 403 turns the path off for the process,
with one warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from azure.data.tables import TableClient

from core.storage.direct_auth import DirectTablePath, http_date

Token = dict[str, str | None] | None  # the SDK's continuation token: {"PartitionKey": ..., "RowKey": ...}
_NEXT_PK, _NEXT_RK = "x-ms-continuation-NextPartitionKey", "x-ms-continuation-NextRowKey"
_NEXT = (("NextPartitionKey", "PartitionKey"), ("NextRowKey", "RowKey"))  # sent back as the SDK sends them
_TYPED = "@odata.type"


def substituted(query_filter: str, parameters: Mapping[str, Any] | None) -> str | None:
    """`query_filter` with its `@name` words replaced by their string parameters, quoted as the SDK quotes them
    (azure.data.tables._serialize._parameter_filter_substitution); None when a parameter is not a string."""
    if not parameters:
        return query_filter
    words = query_filter.split(" ")
    for n, word in enumerate(words):
        if word[:1] == "@":
            value = parameters[word[1:]]
            if not isinstance(value, str):
                return None
            words[n] = "'" + value.replace("'", "''") + "'"
    return " ".join(words)


def _entity(row: dict[str, Any]) -> dict[str, Any] | None:
    """The row as the SDK's entity, or None if it holds a typed value the SDK would convert."""
    entity = {}
    for name, value in row.items():
        if name.startswith("odata.") or name == "Timestamp" or name == "Timestamp" + _TYPED:
            continue
        if name.endswith(_TYPED) or isinstance(value, (dict, list)):
            return None
        entity[name] = value
    return entity


class DirectQuery(DirectTablePath):
    """Queries of one table. Thread-safe: one pool, shared by the reading threads."""

    what = "query"

    def page(self, query_filter: str, select: str | None, top: int | None, token: Token) -> tuple[list, Token] | None:
        """One page of entities and the token of the next (None: the last), or None when the SDK should read it."""
        if not self.enabled:
            return None
        params: list[tuple[str, str]] = [("$filter", query_filter)]
        if select:
            params.append(("$select", select))
        if top:
            params.append(("$top", str(top)))
        if token:
            params += [(name, value) for name, key in _NEXT if (value := token.get(key)) is not None]
        resource = f"{self._path}/{self._table}()"
        headers = {
            "Accept": "application/json;odata=minimalmetadata",
            "DataServiceVersion": "3.0",
            "x-ms-date": http_date(),
            "x-ms-version": self._version,
        }
        query = "&".join(f"{name}={quote(value, safe='')}" for name, value in params)
        to_sign = f"GET\n\n\n{headers['x-ms-date']}\n/{self._signer.account_name}{resource}"
        response = self._exchange("GET", f"{self._origin}{resource}?{query}", to_sign, headers, (200,))
        if response is None:
            return None
        try:
            rows = json.loads(response.data)["value"]
            entities = [_entity(row) for row in rows]
        except (ValueError, KeyError, TypeError, AttributeError):
            self.hand_back(0)
            return None
        if any(entity is None for entity in entities):
            return None  # a typed value: the SDK converts it (not a fault of this path)
        pk, rk = response.headers.get(_NEXT_PK), response.headers.get(_NEXT_RK)
        return entities, ({"PartitionKey": pk, "RowKey": rk} if pk or rk else None)  # the SDK's token


def entity_pages(
    table: TableClient,
    direct: DirectQuery | None,
    query_filter: str,
    parameters: Mapping[str, Any] | None = None,
    select: list[str] | None = None,
    results_per_page: int | None = None,
) -> Iterator[tuple[list[dict[str, Any]], Token]]:
    """(entities, token of the next page) of a query, page by page, as `table.query_entities(...).by_page()` gives
    them: directly while `direct` answers, through the SDK from the page it does not answer on."""
    filled = substituted(query_filter, parameters) if direct is not None else None
    selected = ",".join(select) if select else None
    token: Token = None
    while filled is not None:
        answer = direct.page(filled, selected, results_per_page, token)  # type: ignore[union-attr]
        if answer is None:
            break
        entities, token = answer
        yield entities, token
        if token is None:
            return
    pages = table.query_entities(query_filter, parameters=parameters, select=select,
                                 results_per_page=results_per_page).by_page(continuation_token=token)  # fmt: skip
    for page in pages:
        yield list(page), pages.continuation_token


def query_entities(
    table: TableClient, direct: DirectQuery | None, query_filter: str, parameters: Mapping[str, Any] | None = None,
    **options: Any,
) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Every entity of a query, as `table.query_entities` streams them (`entity_pages`' `select`, `results_per_page`
    options)."""
    for entities, _ in entity_pages(table, direct, query_filter, parameters, **options):
        yield from entities
