"""Composition root: builds the services from Settings. The Functions app calls `get_services()` lazily on first
use, so a missing setting never breaks function indexing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.config import Settings, load_settings


@dataclass
class Services:
    settings: Settings
    graph: Any = None
    content: Any = None
    state: Any = None
    catalog: Any = None


def build_services(settings: Settings) -> Services:
    raise NotImplementedError


_services: Services | None = None


def get_services() -> Services:
    """The process-wide services, built from the environment on first use."""
    global _services
    if _services is None:
        _services = build_services(load_settings())
    return _services
