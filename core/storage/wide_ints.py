"""Integers beyond 32 bits in table rows: sizes and byte counts of a few GiB are ordinary (a OneDrive's first backup,
one video file), and azure-data-tables sends a plain Python int as Edm.Int32, refusing one outside it
(`TypeError: ... too large to be cast to type EdmType.INT32`) instead of widening it. The Table service stores
64-bit integers as Edm.Int64, sent as a string with its type annotation
(https://learn.microsoft.com/rest/api/storageservices/payload-format-for-table-service-operations), and the SDK
hands such a value back as `EntityProperty(value, EdmType.INT64)`, not as an int.

`WideIntTable` is the one boundary: every table client the app builds (core/storage/tables.py) writes an int outside
Int32 as Edm.Int64 and reads Edm.Int64 back as a plain int, so the stores above it, the journal that replays their
writes and the API that shows their figures only ever see ints.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from azure.data.tables import EdmType, EntityProperty, TableClient

INT32 = range(-(2**31), 2**31)
INT64 = range(-(2**63), 2**63)  # beyond it the SDK raises its TypeError, as for any value a table cannot hold


def widened(entity: Mapping[str, Any]) -> Mapping[str, Any]:
    """The entity as it is sent: an int outside Int32 as Edm.Int64 (the same object when there is none)."""
    if not any(type(value) is int and value not in INT32 for value in entity.values()):
        return entity
    wide = dict(entity)
    for name, value in entity.items():
        if type(value) is int and value not in INT32:  # bool is an int too, and not widened
            wide[name] = EntityProperty(value, EdmType.INT64)
    return wide


def narrowed(entity: Any) -> Any:
    """The entity as the app reads it: an Edm.Int64 value as a plain int (in place, metadata kept)."""
    for name, value in entity.items():
        if isinstance(value, EntityProperty) and value.edm_type == EdmType.INT64:
            entity[name] = int(value.value)
    return entity


def _operation(operation: Any) -> Any:
    """A transaction operation, `(kind, entity)` or `(kind, entity, options)`, with its entity widened."""
    kind, entity, *options = operation
    return (kind, widened(entity), *options)


class _Pages:
    """`ItemPaged.by_page()` with each page's entities narrowed; `continuation_token` as the SDK's."""

    def __init__(self, pages: Any) -> None:
        self._pages = pages

    def __iter__(self) -> Iterator[Iterator[Any]]:
        for page in self._pages:
            yield (narrowed(entity) for entity in page)

    @property
    def continuation_token(self) -> Any:
        return self._pages.continuation_token


class _Entities:
    """`ItemPaged` of a query or listing with its entities narrowed, iterated or `by_page`."""

    def __init__(self, paged: Any) -> None:
        self._paged = paged

    def __iter__(self) -> Iterator[Any]:
        return (narrowed(entity) for entity in self._paged)

    def by_page(self, continuation_token: Any = None) -> _Pages:
        return _Pages(self._paged.by_page(continuation_token=continuation_token))


class WideIntTable(TableClient):
    """A TableClient whose rows may hold any int: wider than Int32 is sent as Edm.Int64 and read back as an int."""

    def create_entity(self, entity: Any, **kwargs: Any) -> Any:
        return super().create_entity(widened(entity), **kwargs)

    def upsert_entity(self, entity: Any, *args: Any, **kwargs: Any) -> Any:
        return super().upsert_entity(widened(entity), *args, **kwargs)

    def update_entity(self, entity: Any, *args: Any, **kwargs: Any) -> Any:
        return super().update_entity(widened(entity), *args, **kwargs)

    def submit_transaction(self, operations: Iterable[Any], **kwargs: Any) -> Any:
        return super().submit_transaction([_operation(operation) for operation in operations], **kwargs)

    def get_entity(self, *args: Any, **kwargs: Any) -> Any:
        return narrowed(super().get_entity(*args, **kwargs))

    def query_entities(self, *args: Any, **kwargs: Any) -> Any:
        return _Entities(super().query_entities(*args, **kwargs))

    def list_entities(self, *args: Any, **kwargs: Any) -> Any:
        return _Entities(super().list_entities(*args, **kwargs))
