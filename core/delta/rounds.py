"""One delta round: follow `@odata.nextLink` until a page carries `@odata.deltaLink`, handing each page's entries to
the caller as it comes (Outlook containers apply each page; drives gather the whole round, then apply it).

Links are opaque (https://learn.microsoft.com/graph/delta-query-overview): a nextLink, a saved deltaLink or a
resync Location is sent exactly as received; only the round's first request, which the caller builds, carries a
query (a page size, a $select, a calendarView window). Headers (Prefer) go with every page. Pages are classified by
their annotations, never by their URL. A page without a 'value' list, or with neither link, is MalformedResponse:
nothing of a round that cannot be finished may move its link. DeltaExpired (410, syncStateNotFound, ...) is raised
to the caller, which decides how to start over."""

from __future__ import annotations

from collections.abc import Callable

from core.errors import MalformedResponse
from core.graph.client import GraphClient

NEXT_LINK = "@odata.nextLink"
DELTA_LINK = "@odata.deltaLink"


def follow_round(
    graph: GraphClient,
    url: str,
    *,
    params: dict[str, str] | None,
    headers: dict[str, str],
    on_page: Callable[[list], None],
) -> str:
    """Run one round from `url` (a delta path with `params`, or a link), calling `on_page` with each page's entries
    in order; returns the round's delta link."""
    next_url = url
    while True:
        page = graph.get_json(next_url, params=params, headers=headers)
        params = None  # links carry their own query
        entries = page.get("value")
        if not isinstance(entries, list):
            raise MalformedResponse("delta page has no 'value' list", url=graph.url(next_url))
        on_page(entries)
        next_link, delta_link = page.get(NEXT_LINK), page.get(DELTA_LINK)
        if isinstance(delta_link, str) and delta_link:
            return delta_link
        if not isinstance(next_link, str) or not next_link:
            raise MalformedResponse("delta page has neither @odata.nextLink nor @odata.deltaLink",
                                    url=graph.url(next_url))  # fmt: skip
        next_url = next_link
