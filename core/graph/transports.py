"""The transports a GraphClient sends through when given none (core/graph/client.py): TLS trusting the system's CAs
plus GRAPH_CA_BUNDLE's, and either small pools by mailbox (core/graph/mailbox_pools.py) or, with a proxy in the
environment, one pool of 200 connections."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from core.config import Settings
from core.graph.mailbox_pools import MailboxPools
from core.graph.policy import GraphPolicy

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


def mailbox_pools(settings: Settings, policy: GraphPolicy) -> MailboxPools:
    """BACKUP_LOCAL_CONCURRENCY pools (a mailbox's requests always in the same one), each keeping alive twice what
    one mailbox or resource has in flight (the shared pool 0 as many as before); the 200-connection cap stays per
    pool, so no request waits longer."""
    context = tls_context(settings.ca_bundle)
    keep = 2 * max(settings.mailbox_concurrency, settings.item_concurrency, 1)

    def pool(n: int) -> httpx.HTTPTransport:
        alive = LIMITS.max_keepalive_connections if n == 0 else keep
        limits = httpx.Limits(max_connections=LIMITS.max_connections, max_keepalive_connections=alive)
        return httpx.HTTPTransport(verify=context, limits=limits)

    return MailboxPools(settings.local_concurrency, policy.scope, pool)
