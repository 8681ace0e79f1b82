"""Table Storage keys. PartitionKey and RowKey may not hold '/', '\\', '#', '?' or control characters, and Graph
ids may hold '/' or '+': these encode such characters reversibly (percent-style), keeping sort order within a
prefix so range queries by prefix still work."""

from __future__ import annotations

import re

_FORBIDDEN = {"%", "/", "\\", "#", "?", "|"}
_NEEDS_ESCAPE = re.compile(r"[%/\\#?|\x00-\x1f\x7f-\x9f]")
SEP = "|"  # joins key parts; escaped inside parts, so split(SEP) is safe


def escape(part: str) -> str:
    if not _NEEDS_ESCAPE.search(part):
        return part  # the common case, without a loop over its characters
    out = []
    for ch in part:
        code = ord(ch)
        if ch in _FORBIDDEN or code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"%{code:02X}")
        else:
            out.append(ch)
    return "".join(out)


def unescape(part: str) -> str:
    out = []
    i = 0
    while i < len(part):
        if part[i] == "%":
            out.append(chr(int(part[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(part[i])
            i += 1
    return "".join(out)


def join(*parts: str) -> str:
    return SEP.join(escape(p) for p in parts)


def split(key: str) -> list[str]:
    return [unescape(p) if "%" in p else p for p in key.split(SEP)]


def prefix_range(*parts: str) -> tuple[str, str]:
    """(low, high) RowKey bounds of every key that starts with these parts."""
    low = join(*parts) + SEP
    return low, low[:-1] + chr(ord(SEP) + 1)


def odata_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
