"""A read ahead is keyed by its URL as httpx would send it (core/graph/batch.py): the key built without parsing the
URL must be httpx's, or a read would miss the answer held for it and be sent again."""

from __future__ import annotations

import random

import httpx

from core.graph.batch import request_key, with_query

PLAIN = "aZ09-._~:/@!$&'()*+,;=%"  # what a path may hold for the key to be built without httpx
OTHER = ' "<>\\^`{|}é#?[]'


def _httpx(url: str, params: dict) -> str:
    return str(httpx.URL(url).copy_merge_params(params))


def test_the_key_is_the_url_httpx_sends():
    rng = random.Random(16)

    def word(alphabet: str, most: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, most)))

    origins = ["https://graph.microsoft.com", "https://Graph.Microsoft.com:443", "https://127.0.0.1:8443",
               "http://localhost:80", "https://graph.microsoft.us:8443"]  # fmt: skip
    for n in range(4000):
        path = "/v1.0/" + word(PLAIN if n % 2 else PLAIN + OTHER, 30)  # half of them without httpx
        params = {word(PLAIN + OTHER, 8) or "k": word(PLAIN + OTHER, 12) for _ in range(rng.randrange(1, 4))}
        url = rng.choice(origins) + path
        assert with_query(url, params) == _httpx(url, params), (url, params)


def test_what_a_mailbox_reads_ahead_is_keyed_as_httpx_sends_it():
    url = "https://127.0.0.1:8443/v1.0/users/u1@contoso.onmicrosoft.com/mailFolders/AAMkAD-_=/messages/delta"
    params = {"$select": "id,subject,receivedDateTime", "$top": "50"}
    key = request_key(url, params, {"Prefer": 'odata.maxpagesize=50, IdType="ImmutableId"'})
    assert key == (_httpx(url, params), (("prefer", 'odata.maxpagesize=50, IdType="ImmutableId"'),))
    assert key[0].endswith("/delta?%24select=id%2Csubject%2CreceivedDateTime&%24top=50")
    assert with_query(url + "?$skiptoken=a", {"$top": "5"}) == _httpx(url + "?$skiptoken=a", {"$top": "5"})
    assert with_query(url, {"$top": 5, "flag": True}) == _httpx(url, {"$top": 5, "flag": True})  # type: ignore[dict-item]
    assert request_key(url, None, None) == (url, ())
