"""The key providers without storage: the local key file (created on first use, private, versions, wrong key
refused by name) and what of the Key Vault adapter can be checked without a vault (this machine reaches no Azure):
the key URL's form, the construction, and how Azure SDK errors become the project's errors. Its wrap/unwrap calls
against a real vault are not tested here."""

from __future__ import annotations

import json
import stat

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.identity import ClientSecretCredential

from core.errors import ConfigError, ContentKeyError, StorageError
from core.keys.keyvault_provider import KeyVaultKeys, key_vault_error, parse_key_url
from core.keys.local_provider import LocalKeyFile

URL = "https://contoso-backup.vault.azure.net/keys/content-kek"


def test_the_local_key_file_is_made_private_on_first_use_and_grows_versions(tmp_path):
    path = tmp_path / "deep" / "content-key.json"
    keys = LocalKeyFile(path)
    data_key = bytes(range(32))
    wrapped = keys.wrap(data_key)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (wrapped.provider, wrapped.kek_version, wrapped.algorithm) == ("local", "v1", "A256KW")
    assert wrapped.wrapped != data_key and len(wrapped.wrapped) == 40
    assert keys.add_version() == "v2" and keys.newest_version() == "v2"
    assert keys.wrap(data_key).kek_version == "v2"
    assert LocalKeyFile(path).unwrap(wrapped, "dk-202612") == data_key  # v1 still there: still unwrapped
    keys.remove_version("v1")
    with pytest.raises(ContentKeyError, match=r"'dk-202612'.*v1.*no\s+longer holds"):
        keys.unwrap(wrapped, "dk-202612")


def test_a_different_key_file_is_refused_naming_the_key(tmp_path):
    wrapped = LocalKeyFile(tmp_path / "a.json").wrap(bytes(32))
    other = LocalKeyFile(tmp_path / "b.json")
    other.wrap(bytes(32))  # makes b.json with a v1 of its own
    with pytest.raises(ContentKeyError, match=r"key 'naming' cannot be unwrapped by local KEK v1 .*: wrong key"):
        other.unwrap(wrapped, "naming")


def test_a_malformed_key_file_is_a_config_error(tmp_path):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ConfigError, match="malformed"):
        LocalKeyFile(path).newest_version()


@pytest.mark.parametrize(
    "url",
    [
        "http://contoso.vault.azure.net/keys/k",
        "https://contoso.vault.azure.net/secrets/k",
        "https://contoso.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef",
        "https://contoso.vault.azure.net/",
    ],
)
def test_the_key_url_must_be_a_versionless_key_identifier(url):
    with pytest.raises(ConfigError, match="CONTENT_KEY_URL"):
        parse_key_url(url)


def test_the_key_vault_adapter_is_built_without_a_request():
    credential = ClientSecretCredential("tenant", "client", "not-a-secret")  # never asked for a token here
    keys = KeyVaultKeys(URL + "/", credential)
    assert (keys.name, keys.vault_url, keys.key_name) == (
        "keyvault",
        "https://contoso-backup.vault.azure.net",
        "content-kek",
    )
    assert keys.kek == URL and keys.add_version() is None  # the customer rotates the key in Key Vault


def _http_error(status: int, message: str = "") -> HttpResponseError:
    error = HttpResponseError(message=message or f"status {status}")
    error.status_code = status
    return error


def test_key_vault_errors_become_clear_errors_naming_the_key():
    kid = URL + "/0123"
    refused = key_vault_error(_http_error(403), "unwrap", "dk-202612", kid)
    assert isinstance(refused, ContentKeyError)
    assert (
        "'dk-202612'" in str(refused)
        and kid in str(refused)
        and "Key Vault Crypto Service Encryption User" in str(refused)
    )
    wrong = key_vault_error(_http_error(400), "unwrap", "naming", kid)
    assert isinstance(wrong, ContentKeyError) and "wrong key" in str(wrong)
    gone = key_vault_error(ResourceNotFoundError("gone"), "unwrap", "naming", kid)
    assert isinstance(gone, ContentKeyError) and "no key" in str(gone)
    no_token = key_vault_error(ClientAuthenticationError("no identity"), "wrap", "", URL)
    assert isinstance(no_token, ContentKeyError) and "no token" in str(no_token)
    for transient in (ServiceRequestError("connection refused"), _http_error(503)):
        mapped = key_vault_error(transient, "unwrap", "naming", kid)
        assert isinstance(mapped, StorageError) and not isinstance(mapped, ContentKeyError)
