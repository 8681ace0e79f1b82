"""The app's own keys, kept only wrapped, write-once, in the content container beside the content:

    keys/naming/000001.json       the naming key: blob names are HMAC-SHA256(naming key, content SHA-256)
    keys/dk-202612/000001.json    a data key (one per month of writes; the blob header names it)
    keys/dk-202612/000002.json    the same key re-wrapped by a rotation under the KEK's newest version

A record holds one key wrapped by one KEK version (core/keys/port.py) and is never overwritten (`overwrite=False`;
in Azure the container's immutability covers it too): a rotation adds the next record of every key, so the
content, which names only the key id, is never touched. The newest record that the provider can unwrap is used;
older ones stay for as long as their KEK version does. A key is created by its first user: two processes racing
both write record 000001 with `overwrite=False`, one wins, the other reads the winner's, and no content is
written under a key before its record is durable. Unwrapped keys are cached here, so a process unwraps each key
once (one Key Vault call per key per process).

A data key per month bounds how many keys a reader must unwrap (12 a year) while each blob still gets its own
AES key (HKDF of the data key with the blob's random salt, core/storage/blob_format.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from core.errors import ContentKeyError, StorageError
from core.keys.port import KeyProvider, WrappedKey

PREFIX = "keys/"
NAMING = "naming"
KEY_ID = re.compile(r"^(naming|dk-\d{6})$")


def _record_name(key_id: str, seq: int) -> str:
    return f"{PREFIX}{key_id}/{seq:06d}.json"


class KeyRing:
    def __init__(
        self, container: ContainerClient, provider: KeyProvider, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._container = container
        self.provider = provider
        self._now = now
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    # -- keys -------------------------------------------------------------------------------------------------
    def naming_key(self, create: bool = True) -> bytes | None:
        """The naming key (created on first use unless `create` is False: then None while there is none)."""
        return self._key(NAMING, create)

    def current_data_key(self) -> tuple[str, bytes]:
        """The data key new content is written under (this month's), created on first use."""
        key_id = f"dk-{self._now():%Y%m}"
        key = self._key(key_id, create=True)
        assert key is not None
        return key_id, key

    def data_key(self, key_id: str) -> bytes:
        """The data key a blob's header names; ContentKeyError if there is no such key or it cannot be unwrapped."""
        if not KEY_ID.match(key_id) or key_id == NAMING:
            raise ContentKeyError(f"{key_id!r} is not a data key id")
        key = self._key(key_id, create=False)
        if key is None:
            raise ContentKeyError(f"no record of data key {key_id!r} under {PREFIX} (removed? a damaged header?)")
        return key

    def name_of(self, sha256: str, create: bool = True) -> str | None:
        """The keyed name of a content: its SHA-256 under the naming key, which reveals nothing without it. None
        when `create` is False and no naming key exists yet (nothing was ever stored encrypted)."""
        naming = self.naming_key(create)
        return hmac.new(naming, bytes.fromhex(sha256), hashlib.sha256).hexdigest() if naming else None

    def _key(self, key_id: str, create: bool) -> bytes | None:
        key = self._keys.get(key_id)
        if key is not None:
            return key
        with self._lock:
            if key_id not in self._keys:
                key = self._load(key_id)
                if key is None:
                    if not create:
                        return None
                    key = self._create(key_id)
                self._keys[key_id] = key
            return self._keys[key_id]

    # -- records ----------------------------------------------------------------------------------------------
    def _record_names(self, key_id: str) -> list[str]:
        try:
            return sorted(b.name for b in self._container.list_blobs(name_starts_with=f"{PREFIX}{key_id}/"))
        except HttpResponseError as exc:
            raise StorageError(f"could not list the records of key {key_id!r}: {exc.message}") from exc

    def _read(self, name: str) -> WrappedKey:
        try:
            record = json.loads(self._container.download_blob(name).readall())
        except ResourceNotFoundError:
            raise ContentKeyError(f"key record {name} is gone") from None
        except HttpResponseError as exc:
            raise StorageError(f"could not read key record {name}: {exc.message}") from exc
        fields = {k: record[k] for k in ("provider", "kek", "kek_version", "algorithm")}
        return WrappedKey(**fields, wrapped=base64.b64decode(record["wrapped"]))

    def _unwrap_any(self, key_id: str, names: list[str]) -> tuple[bytes, WrappedKey]:
        """The key from the newest record the provider can unwrap (and that record); the newest's error if none."""
        first: ContentKeyError | None = None
        for name in reversed(names):
            wrapped = self._read(name)
            try:
                key = self.provider.unwrap(wrapped, key_id)
            except ContentKeyError as exc:
                first = first or exc
                continue
            if len(key) != 32:
                raise ContentKeyError(f"key {key_id!r} unwrapped to {len(key)} bytes, not 32")
            return key, wrapped
        assert first is not None
        raise first

    def _load(self, key_id: str) -> bytes | None:
        names = self._record_names(key_id)
        return self._unwrap_any(key_id, names)[0] if names else None

    def _write(self, key_id: str, seq: int, wrapped: WrappedKey) -> bool:
        """Write one record; False if that record exists already (another process was first)."""
        record: dict[str, Any] = {"key_id": key_id, "seq": seq, **asdict(wrapped)}
        record["wrapped"] = base64.b64encode(wrapped.wrapped).decode()
        record["created"] = self._now().isoformat()
        try:
            data = json.dumps(record, indent=1).encode()
            settings = ContentSettings(content_type="application/json")
            self._container.upload_blob(_record_name(key_id, seq), data, overwrite=False, content_settings=settings)
        except ResourceExistsError:
            return False
        except HttpResponseError as exc:
            raise StorageError(f"could not store key {key_id!r}: {exc.message}") from exc
        return True

    def _create(self, key_id: str) -> bytes:
        key = secrets.token_bytes(32)
        if self._write(key_id, 1, self.provider.wrap(key)):
            return key
        loaded = self._load(key_id)  # another process created it first: theirs is the key
        assert loaded is not None
        return loaded

    # -- rotation ---------------------------------------------------------------------------------------------
    def key_ids(self) -> dict[str, list[str]]:
        ids: dict[str, list[str]] = {}
        try:
            for blob in self._container.list_blobs(name_starts_with=PREFIX):
                ids.setdefault(blob.name[len(PREFIX) :].split("/", 1)[0], []).append(blob.name)
        except HttpResponseError as exc:
            raise StorageError(f"could not list the keys: {exc.message}") from exc
        return {k: sorted(v) for k, v in sorted(ids.items())}

    def status(self) -> dict[str, Any]:
        """The KEK's newest version and, per key, how many records it has and which version wraps its newest."""
        newest = self.provider.newest_version()
        keys = []
        for key_id, names in self.key_ids().items():
            last = self._read(names[-1])
            current = last.kek == self.provider.kek and last.kek_version == newest
            keys.append({"key_id": key_id, "records": len(names), "kek_version": last.kek_version, "current": current})
        behind = sum(1 for k in keys if not k["current"])
        return {"provider": self.provider.name, "kek": self.provider.kek, "newest_version": newest, "keys": keys,
                "behind": behind}  # fmt: skip

    def rewrap(self) -> dict[str, Any]:
        """Re-wrap every key whose newest record is not under the KEK's newest version (a new record each, the
        content untouched). Idempotent; safe beside running backups (records are only ever added)."""
        newest = self.provider.newest_version()
        rewrapped, unchanged = [], []
        for key_id, names in self.key_ids().items():
            last = self._read(names[-1])
            if last.kek == self.provider.kek and last.kek_version == newest:
                unchanged.append(key_id)
                continue
            key, _ = self._unwrap_any(key_id, names)
            seq = int(names[-1].rsplit("/", 1)[-1].split(".")[0]) + 1
            self._write(key_id, seq, self.provider.wrap(key))  # False: a concurrent rotation wrote it
            rewrapped.append(key_id)
        return {"kek": self.provider.kek, "kek_version": newest, "rewrapped": rewrapped, "unchanged": unchanged}
