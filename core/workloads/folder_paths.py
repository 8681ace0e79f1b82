"""Folder paths as text: segments joined by '/', with '/' and '\\' inside a name escaped by '\\', so a path can
always be split back into the exact display names (a folder may be called 'Q1/Q2')."""

from __future__ import annotations


def join_path(segments: list[str]) -> str:
    return "/".join(s.replace("\\", "\\\\").replace("/", "\\/") for s in segments)


def split_path(path: str) -> list[str]:
    if not path:
        return []
    segments, current, i = [], [], 0
    while i < len(path):
        ch = path[i]
        if ch == "\\" and i + 1 < len(path):
            current.append(path[i + 1])
            i += 2
            continue
        if ch == "/":
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    segments.append("".join(current))
    return segments


def is_within(path: str, folder: str) -> bool:
    """True when `path` is `folder` or below it."""
    if not folder:
        return True
    inner, outer = _segments(path), _segments(folder)
    return inner[: len(outer)] == outer


def _segments(path: str) -> list[str]:
    """The path's names without the empty ones a leading or trailing '/' gives ('/Inbox/Projects/' is
    'Inbox/Projects': no folder has an empty name)."""
    segments = split_path(path)
    while segments and segments[0] == "":
        segments.pop(0)
    while segments and segments[-1] == "":
        segments.pop()
    return segments
