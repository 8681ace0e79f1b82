"""`python -m core keys status` and `keys rotate`: the content keys and the customer's key-encryption key (KEK).

`keys rotate` re-wraps the naming key and every data key under the KEK's newest version (new write-once records in
`keys/`; no content blob is read or written). With the local key file it first adds a KEK version (v2, v3, ...;
`--rewrap-only` skips that); with Key Vault the new version is made in Key Vault (its rotation policy, or
`az keyvault key rotate`) and this command re-wraps under it. Afterwards `keys status` shows every key current, and
an older KEK version may be disabled."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from core.errors import InvalidRequestError

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.keys.keyring import KeyRing

EXIT_OK, EXIT_BEHIND = 0, 4


def add_keys_parser(sub: Any) -> None:
    p = sub.add_parser("keys", help="the content encryption keys: status, or rotate (re-wrap under the newest KEK)")
    action = p.add_subparsers(dest="keys_action", required=True)
    status = action.add_parser("status", help="the KEK's newest version and the version wrapping each key; exit 4 "
                               "if a key is not yet re-wrapped under it")  # fmt: skip
    status.add_argument("--json", action="store_true")
    rotate = action.add_parser("rotate", help="re-wrap every key under the KEK's newest version (local: after adding "
                               "a version); the content is not touched")  # fmt: skip
    rotate.add_argument("--rewrap-only", action="store_true", help="local key file: do not add a KEK version first")
    rotate.add_argument("--json", action="store_true")


def _keys(services: Services) -> KeyRing:
    keys = services.content.keys
    if keys is None:
        raise InvalidRequestError(
            "no content key is configured: set CONTENT_ENCRYPTION=local or keyvault (with CONTENT_KEY_URL)"
        )
    return keys


def keys_command(services: Services, args: argparse.Namespace) -> int:
    keys = _keys(services)
    if args.keys_action == "rotate":
        added = None if args.rewrap_only else keys.provider.add_version()
        result = {"added_version": added, **keys.rewrap()}
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            made = f"new {keys.provider.name} KEK version {added}; " if added else ""
            print(f"{made}re-wrapped under {result['kek_version']}: {', '.join(result['rewrapped']) or 'nothing'}; "
                  f"already current: {', '.join(result['unchanged']) or 'none'}")  # fmt: skip
        return EXIT_OK
    status = keys.status()
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print(f"KEK: {status['provider']} {status['kek']}, newest version {status['newest_version']}")
        for k in status["keys"]:
            mark = "current" if k["current"] else "NOT re-wrapped under the newest version: run `keys rotate`"
            print(f"  {k['key_id']}: {k['records']} record(s), wrapped by {k['kek_version']} ({mark})")
        if not status["keys"]:
            print("  no keys yet (made with the first encrypted content)")
    return EXIT_BEHIND if status["behind"] else EXIT_OK
