"""The local key provider: KEK versions in a JSON key file (`CONTENT_LOCAL_KEY_FILE`), for the demo, the tests and
a machine without Key Vault. The file is created on first use (mode 0600) with version v1; `add_version` appends
v2, v3, ... (`python -m core keys rotate`). Keys are wrapped with AES-256 key wrap (RFC 3394, `cryptography`'s
`aes_key_wrap`), whose integrity check refuses a wrong KEK. Whoever holds the file can read the backup: keep it
out of the repository and away from the storage account."""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from core.errors import ConfigError, ContentKeyError
from core.keys.port import WrappedKey

FORMAT = "m365backup-local-kek/1"
ALGORITHM = "A256KW"


class LocalKeyFile:
    name = "local"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.kek = str(self.path)
        self._lock = threading.Lock()

    # -- the file ---------------------------------------------------------------------------------------------
    def _read(self, create: bool) -> dict[str, Any]:
        if not self.path.exists():
            if not create:
                raise ContentKeyError(f"the local key file {self.path} does not exist")
            return self._create()
        try:
            data = json.loads(self.path.read_text())
            if data.get("format") != FORMAT or not data.get("versions"):
                raise ValueError(f"not a {FORMAT} file")
            for v in data["versions"]:
                if len(base64.b64decode(v["key"])) != 32:
                    raise ValueError(f"version {v['version']} is not a 256-bit key")
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"the local key file {self.path} is malformed: {exc}") from None
        return data

    def _create(self) -> dict[str, Any]:
        data = {"format": FORMAT, "versions": [_new_version(1)]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return self._read(create=False)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        return data

    def _versions(self, create: bool = True) -> dict[str, bytes]:
        with self._lock:
            data = self._read(create)
        return {v["version"]: base64.b64decode(v["key"]) for v in data["versions"]}

    # -- the port ---------------------------------------------------------------------------------------------
    def newest_version(self) -> str:
        return list(self._versions())[-1]

    def wrap(self, key: bytes) -> WrappedKey:
        version, kek = list(self._versions().items())[-1]
        return WrappedKey(self.name, self.kek, version, ALGORITHM, aes_key_wrap(kek, key))

    def unwrap(self, wrapped: WrappedKey, key_id: str) -> bytes:
        if wrapped.provider != self.name or wrapped.algorithm != ALGORITHM:
            raise ContentKeyError(
                f"key {key_id!r} is wrapped by {wrapped.provider} ({wrapped.kek} {wrapped.kek_version}), "
                f"not by a local key file: configure CONTENT_ENCRYPTION={wrapped.provider}"
            )
        if not self.path.exists():
            raise ContentKeyError(
                f"key {key_id!r} is wrapped by local KEK {wrapped.kek_version} and the key file {self.path} does not "
                "exist (CONTENT_LOCAL_KEY_FILE)"
            )
        kek = self._versions(create=False).get(wrapped.kek_version)
        if kek is None:
            raise ContentKeyError(
                f"key {key_id!r} is wrapped by local KEK {wrapped.kek_version}, which the key file {self.path} no "
                "longer holds (re-wrap with `keys rotate` before removing a version)"
            )
        try:
            return aes_key_unwrap(kek, wrapped.wrapped)
        except InvalidUnwrap:
            raise ContentKeyError(
                f"key {key_id!r} cannot be unwrapped by local KEK {wrapped.kek_version} of {self.path}: wrong key"
            ) from None

    def add_version(self) -> str:
        with self._lock:
            data = self._read(create=True)
            number = max(int(v["version"].lstrip("v")) for v in data["versions"]) + 1
            data["versions"].append(_new_version(number))
            tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=2)
            os.replace(tmp, self.path)
        return f"v{number}"

    def remove_version(self, version: str) -> None:
        """Drop one KEK version from the file (what an operator does once every key is re-wrapped past it)."""
        with self._lock:
            data = self._read(create=False)
            kept = [v for v in data["versions"] if v["version"] != version]
            if not kept or len(kept) == len(data["versions"]):
                raise ConfigError(f"cannot remove version {version!r} from {self.path}: unknown or the only one")
            data["versions"] = kept
            self.path.write_text(json.dumps(data, indent=2))


def _new_version(number: int) -> dict[str, str]:
    created = datetime.now(UTC).isoformat()
    return {"version": f"v{number}", "created": created, "key": base64.b64encode(secrets.token_bytes(32)).decode()}
