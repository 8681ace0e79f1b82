"""Ctrl-C for long work: a process-wide stop request, checked before every Graph request.

The CLI's first SIGINT (or SIGTERM) calls `request_stop()`; from then on `check()` raises `Interrupted` in whichever
thread asks for more work, so no resource and no item is started after it. `Interrupted` is a KeyboardInterrupt, not
an Exception: the `except Exception` handlers that turn an item's failure into a failed or quarantined item never
see it, so nothing is recorded for work that was cut short (no restore point of the resource, no delta link of the
round under way: a link is stored only after its round is, and the round is read again by the next run). The run
itself is marked `interrupted` by core/runner.py."""

from __future__ import annotations

import threading

_requested = threading.Event()


class Interrupted(KeyboardInterrupt):
    """Raised in a worker thread that asks for more work after a stop was requested."""


def request_stop() -> None:
    _requested.set()


def stop_requested() -> bool:
    return _requested.is_set()


def reset() -> None:
    """A new piece of work (a backup run) starts with no stop requested."""
    _requested.clear()


def check() -> None:
    """Raise Interrupted if a stop was requested: called before work that could be skipped safely."""
    if _requested.is_set():
        raise Interrupted("stop requested")
