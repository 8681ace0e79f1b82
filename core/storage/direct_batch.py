"""A catalog transaction (up to 100 upserts in one partition) sent as one entity group transaction, built and
signed here instead of by azure-data-tables: the SDK builds each operation as a request of its own and writes and
parses the multipart bodies with the `email` package, ~1 ms of CPU per operation on this project's machines
(`python -m bench.cpu_profile --profile`), more than the rest of a message's backup.

The request is the REST API's, as documented:
https://learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions
(`POST /$batch`, one changeset of Insert Or Replace (PUT) and Insert Or Merge (PATCH) operations; the service
applies all of them or none). The Table service's Shared Key string is its own: verb, Content-MD5, Content-Type,
date, resource (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key#table-service-shared-key-authorization).
Entity values are sent as the SDK sends them: strings, booleans and 32-bit integers as plain JSON (the service's
default types for them), a wider integer as an Edm.Int64 string with its type annotation (core/storage/wide_ints.py);
an entity holding anything else makes the whole transaction go through the SDK.

Only a definite answer is taken from this path: 202 with every operation answered 2xx. Anything else returns False
and the caller sends the same transaction through the SDK, which raises the errors the app knows; sending it again
is safe (upserts leave the same rows however often they are applied, core/storage/tables.py REPLAY_SAFE). A 401 or
403 turns the path off for the process, with one warning.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from core.storage.direct_auth import DirectTablePath, http_date
from core.storage.wide_ints import INT32, INT64

_STATUS = re.compile(rb"^HTTP/1\.1 (\d{3})", re.MULTILINE)
_METHODS = {"replace": "PUT", "merge": "PATCH"}  # Insert Or Replace, Insert Or Merge


def _plain(value: Any) -> bool:
    """A value this path sends as the SDK would: a str, a bool or a 64-bit int (plain JSON; Edm.Int64 beyond 32
    bits)."""
    return isinstance(value, (str, bool)) or (type(value) is int and value in INT64)


def _json(entity: dict[str, Any]) -> str:
    wide = {}
    for name, value in entity.items():
        if type(value) is int and value not in INT32:
            wide[f"{name}@odata.type"], wide[name] = "Edm.Int64", str(value)
        else:
            wide[name] = value
    return json.dumps(wide, ensure_ascii=False, separators=(",", ":"))


def _key(value: str) -> str:
    return quote(value.replace("'", "''"), safe="")


class DirectTransaction(DirectTablePath):
    """Entity group transactions into one table. Thread-safe: one pool, shared by the writing threads."""

    what = "transaction"

    def submit(self, ops: Sequence[tuple[str, dict[str, Any]]]) -> bool:
        """Apply `(mode, entity)` upserts ('replace' or 'merge') as one transaction. True when the service applied
        them all; False when the SDK should send them (not sent here, or no definite answer)."""
        if not self.enabled or not ops:
            return False
        if any(mode not in _METHODS or not all(_plain(v) for v in entity.values()) for mode, entity in ops):
            return False
        body, boundary = self._body(ops)
        path = f"{self._path}/$batch"
        headers = {
            "Accept": "application/json",
            "Content-Type": f"multipart/mixed; boundary={boundary}",
            "Content-Length": str(len(body)),
            "DataServiceVersion": "3.0",
            "MaxDataServiceVersion": "3.0;NetFx",
            "x-ms-client-request-id": str(uuid.uuid4()),
            "x-ms-date": http_date(),
            "x-ms-version": self._version,
        }
        to_sign = f"POST\n\n{headers['Content-Type']}\n{headers['x-ms-date']}\n/{self._signer.account_name}{path}"
        response = self._exchange("POST", self._origin + path, to_sign, headers, (202,), body)
        if response is None:
            return False
        statuses = [int(code) for code in _STATUS.findall(response.data)]
        if len(statuses) == len(ops) and all(200 <= code < 300 for code in statuses):
            return True
        self.hand_back(0)  # an operation refused: the SDK sends it again and raises what it says
        return False

    def _body(self, ops: Sequence[tuple[str, dict[str, Any]]]) -> tuple[bytes, str]:
        batch, changeset = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
        base = f"{self._origin}{self._path}/{self._table}"
        lines = [f"--{batch}", f"Content-Type: multipart/mixed; boundary={changeset}", ""]
        for n, (mode, entity) in enumerate(ops):
            data = _json(entity)
            url = f"{base}(PartitionKey='{_key(entity['PartitionKey'])}',RowKey='{_key(entity['RowKey'])}')"
            lines += [
                f"--{changeset}",
                "Content-Type: application/http",
                "Content-Transfer-Encoding: binary",
                f"Content-ID: {n}",
                "",
                f"{_METHODS[mode]} {url} HTTP/1.1",
                "Content-Type: application/json",
                "Accept: application/json",
                f"Content-Length: {len(data.encode('utf-8'))}",
                f"x-ms-version: {self._version}",
                "DataServiceVersion: 3.0",
                "",
                data,
            ]
        lines += [f"--{changeset}--", "", f"--{batch}--", ""]
        return "\r\n".join(lines).encode("utf-8"), batch
