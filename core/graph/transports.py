"""What a GraphClient sends through when given no transport (core/graph/client.py): TLS trusting the system's CAs
plus GRAPH_CA_BUNDLE's (its own connections, core/graph/wire.py, use the same), and for what httpx sends (through
a proxy in the environment, or a request the wire does not form) one pool of 200 connections."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from core.config import Settings

LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100)


def tls_context(ca_bundle: str) -> ssl.SSLContext:
    """The system's trusted CAs, plus GRAPH_CA_BUNDLE's (the local simulator's) when set."""
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def graph_transport(settings: Settings, **options: Any) -> httpx.HTTPTransport:
    """The transport GraphClient builds when given none (TLS trusting the system's CAs plus GRAPH_CA_BUNDLE's,
    200 pooled connections), with httpx.HTTPTransport `options` added (local_address=, retries=, proxy=, ...).
    A transport passed to GraphClient brings its own TLS and pool settings: start from this one to keep them."""
    return httpx.HTTPTransport(verify=tls_context(settings.ca_bundle), limits=LIMITS, **options)
