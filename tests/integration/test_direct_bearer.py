"""The direct storage writes and queries signed the way they are in Azure: an Entra ID bearer token for
https://storage.azure.com, against an Azurite serving HTTPS with `--oauth basic` (it checks a token's issuer,
audience and lifetime, not its signature). Entra ID cannot run here, so the credential is a stand-in that hands out
such tokens and counts how often it was asked; everything else is real: the SDK clients, the direct requests, the
emulator."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
from azure.core.credentials import AccessToken
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from core.storage.catalog import Catalog, ItemVersion
from core.storage.content_store import BlobContentStore, blob_name
from core.storage.direct_auth import STORAGE_SCOPE
from core.storage.direct_batch import DirectTransaction
from core.storage.direct_put import DirectPut
from core.storage.direct_query import DirectQuery
from devenv.azurite import ACCOUNT, Azurite, start_azurite
from graphsim.tls import make_tls_files


def _segment(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class EntraStandIn:
    """A TokenCredential: tokens shaped as Entra ID issues them for storage (unsigned: the emulator does not check)."""

    def __init__(self, lifetime_s: int = 3600) -> None:
        self.asked: list[tuple[str, ...]] = []
        self._lifetime = lifetime_s

    def get_token(self, *scopes: str, **_: object) -> AccessToken:
        self.asked.append(scopes)
        now = int(time.time())
        claims = {"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/tenant-1/",
                  "iat": now - 60, "nbf": now - 60, "exp": now + self._lifetime, "oid": "backup-identity"}  # fmt: skip
        token = f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(claims)}.c2lnbmF0dXJl"
        return AccessToken(token, now + self._lifetime)


@pytest.fixture(scope="module")
def tls_azurite(tmp_path_factory) -> Iterator[tuple[Azurite, str]]:
    files = make_tls_files(tmp_path_factory.mktemp("azurite-tls"))
    with start_azurite(tls=(files.cert_file, files.key_file)) as instance:
        yield instance, str(files.ca_file)


def test_content_and_catalog_rows_are_written_with_a_bearer_token(tls_azurite):
    azurite, ca = tls_azurite
    credential = EntraStandIn()
    blobs = BlobServiceClient(f"https://127.0.0.1:{azurite.blob_port}/{ACCOUNT}", credential=credential,
                              connection_verify=ca)  # fmt: skip
    container = blobs.get_container_client("bearer")
    container.create_container()
    direct = DirectPut.for_container(container, ca_file=ca)
    assert direct is not None
    asked_by_sdk = len(credential.asked)
    store = BlobContentStore(container, direct=direct)
    first = store.put_bytes(b"signed with a token")
    again = store.put_bytes(b"signed with a token")
    second = store.put_bytes(b"and another")
    assert (first.written, again.written, second.written) == (True, False, True)
    assert direct.handed_back == 0 and direct.enabled
    assert direct._pool.opened == 1  # one TLS connection, kept alive for the three (core/http11.py)
    assert credential.asked[asked_by_sdk:] == [(STORAGE_SCOPE,)]  # one token for the three puts
    assert container.get_blob_client(blob_name(first.sha256)).download_blob().readall() == b"signed with a token"

    tables = TableServiceClient(f"https://127.0.0.1:{azurite.table_port}/{ACCOUNT}", credential=credential,
                                connection_verify=ca)  # fmt: skip
    table = tables.create_table("bearercatalog")
    transactions = DirectTransaction.for_table(table, ca_file=ca)
    writer = Catalog(table, direct=transactions).writer("user1")
    writer.put(ItemVersion("mail", "m1", "r1", name="one"))
    writer.put(ItemVersion("mail", "m2", "r1", name="two"))
    writer.flush()
    assert transactions.handed_back == 0 and writer.committed == 2
    assert sorted(e["name"] for e in table.list_entities()) == ["one", "two"]
    queries = DirectQuery.for_table(table, ca_file=ca)
    reader = Catalog(table, reader=queries)
    assert sorted(reader.open_index("user1", "mail")) == ["m1", "m2"] and queries.handed_back == 0


def test_a_token_is_renewed_before_it_expires(tls_azurite):
    azurite, ca = tls_azurite
    credential = EntraStandIn(lifetime_s=200)  # under the 300 s margin: every put asks for a fresh one
    blobs = BlobServiceClient(f"https://127.0.0.1:{azurite.blob_port}/{ACCOUNT}", credential=credential,
                              connection_verify=ca)  # fmt: skip
    container = blobs.get_container_client("renewed")
    container.create_container()
    direct = DirectPut.for_container(container, ca_file=ca)
    before = len(credential.asked)
    store = BlobContentStore(container, direct=direct)
    store.put_bytes(b"one")
    store.put_bytes(b"two")
    assert len(credential.asked) - before == 2 and direct.handed_back == 0
