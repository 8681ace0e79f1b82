"""Settings: one frozen object built from the environment by `load_settings()` (never at import time).

Every setting core/ reads is declared once in `SETTINGS` (core/config_table.py). The CLI's `--help` prints that
table, the README's configuration table mirrors it, and the infrastructure tests compare the `deployed` ones with the
app settings that infra/ defines, so neither side can add a setting the other lacks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from core.config_table import SETTINGS, Setting  # noqa: F401 - Setting and SETTINGS are read from here too
from core.errors import ConfigError

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    tenant_id: str
    client_id: str
    client_secret: str
    client_certificate: str
    graph_endpoint: str
    authority_host: str
    ca_bundle: str
    page_size: int
    max_attempts: int
    timeout_seconds: float
    mailbox_concurrency: int
    mailbox_requests_per_10_min: int
    blob_endpoint: str
    table_endpoint: str
    storage_connection_string: str
    container: str
    table_prefix: str
    schedule: str
    batch_size: int
    workloads: tuple[str, ...]
    item_concurrency: int
    local_concurrency: int
    include_users: tuple[str, ...]
    exclude_users: tuple[str, ...]
    include_sites: tuple[str, ...]
    exclude_sites: tuple[str, ...]
    exclude_libraries: tuple[str, ...]
    managed_identity_client_id: str
    api_audiences: tuple[str, ...] = ()
    calendar_past_days: int = 3650
    calendar_future_days: int = 1825
    archive_mailboxes: bool = True
    verify_schedule: str = "0 0 5 * * 0"
    verify_sample_percent: int = 10
    retention_policies: str = ""
    retention_overrides: str = ""
    purge_schedule: str = "0 30 2 * * *"
    purge_grace_hours: int = 24
    purge_client_id: str = ""
    immutability_days: int = 30
    immutability_locked: bool = False
    content_compression: str = "none"
    content_encryption: str = "none"
    content_key_url: str = ""
    content_local_key_file: str = ".local/content-key.json"

    @property
    def token_issuer(self) -> str:
        """The issuer of Entra ID v2.0 tokens for this tenant (what the restore API accepts)."""
        return f"{self.authority_host}/{self.tenant_id}/v2.0"

    @property
    def jwks_url(self) -> str:
        return f"{self.authority_host}/{self.tenant_id}/discovery/v2.0/keys"

    @property
    def is_public_cloud_authority(self) -> bool:
        """True for the Microsoft sign-in clouds, where msal's authority validation stays on."""
        host = self.authority_host.lower()
        return any(
            host.startswith(f"https://{h}")
            for h in ("login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn")
        )


def _get(env: Mapping[str, str], name: str) -> str:
    setting = _BY_NAME[name]
    value = env.get(name)
    if value is None or value == "":
        if setting.default is None:
            raise ConfigError(f"setting {name} is required: {setting.help}")
        return setting.default
    return value


def _int(env: Mapping[str, str], name: str, minimum: int = 1) -> int:
    raw = _get(env, name)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"setting {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"setting {name} must be >= {minimum}, got {value}")
    return value


def _url(env: Mapping[str, str], name: str) -> str:
    value = _get(env, name).rstrip("/")
    if value and not value.startswith("https://"):
        raise ConfigError(f"setting {name} must be an https:// URL, got {value!r}")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = _get(env, name).strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"setting {name} must be true or false, got {raw!r}")
    return raw in ("true", "1", "yes")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = _get(env, name).strip().lower()
    if value not in choices:
        raise ConfigError(f"setting {name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in _get(env, name).split(",") if v.strip())


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from `env` (default: os.environ). Raises ConfigError naming the bad setting."""
    env = os.environ if env is None else env
    workloads = _list(env, "BACKUP_WORKLOADS") if env.get("BACKUP_WORKLOADS") else _default_workloads()
    settings = Settings(
        tenant_id=_get(env, "GRAPH_TENANT_ID"),
        client_id=_get(env, "GRAPH_CLIENT_ID"),
        client_secret=_get(env, "GRAPH_CLIENT_SECRET"),
        client_certificate=_get(env, "GRAPH_CLIENT_CERTIFICATE"),
        graph_endpoint=_url(env, "GRAPH_ENDPOINT"),
        authority_host=_url(env, "GRAPH_AUTHORITY_HOST"),
        ca_bundle=_get(env, "GRAPH_CA_BUNDLE"),
        page_size=_int(env, "GRAPH_PAGE_SIZE"),
        max_attempts=_int(env, "GRAPH_MAX_ATTEMPTS"),
        timeout_seconds=float(_int(env, "GRAPH_TIMEOUT_SECONDS")),
        mailbox_concurrency=_int(env, "GRAPH_MAILBOX_CONCURRENCY"),
        mailbox_requests_per_10_min=_int(env, "GRAPH_MAILBOX_REQUESTS_PER_10_MIN"),
        blob_endpoint=_url(env, "BACKUP_STORAGE_BLOB_ENDPOINT"),
        table_endpoint=_url(env, "BACKUP_STORAGE_TABLE_ENDPOINT"),
        storage_connection_string=_get(env, "BACKUP_STORAGE_CONNECTION_STRING"),
        container=_get(env, "BACKUP_CONTAINER"),
        table_prefix=_get(env, "BACKUP_TABLE_PREFIX"),
        schedule=_get(env, "BACKUP_SCHEDULE"),
        batch_size=_int(env, "BACKUP_BATCH_SIZE"),
        workloads=workloads,
        item_concurrency=_int(env, "BACKUP_ITEM_CONCURRENCY"),
        local_concurrency=_int(env, "BACKUP_LOCAL_CONCURRENCY"),
        include_users=_list(env, "BACKUP_INCLUDE_USERS"),
        exclude_users=_list(env, "BACKUP_EXCLUDE_USERS"),
        include_sites=_list(env, "BACKUP_INCLUDE_SITES"),
        exclude_sites=_list(env, "BACKUP_EXCLUDE_SITES"),
        exclude_libraries=_list(env, "BACKUP_EXCLUDE_LIBRARIES"),
        managed_identity_client_id=_get(env, "AZURE_CLIENT_ID"),
        api_audiences=_list(env, "API_AUDIENCE"),
        calendar_past_days=_int(env, "BACKUP_CALENDAR_PAST_DAYS"),
        calendar_future_days=_int(env, "BACKUP_CALENDAR_FUTURE_DAYS"),
        archive_mailboxes=_bool(env, "BACKUP_ARCHIVE_MAILBOXES"),
        verify_schedule=_get(env, "VERIFY_SCHEDULE"),
        verify_sample_percent=_int(env, "VERIFY_SAMPLE_PERCENT"),
        retention_policies=_get(env, "RETENTION_POLICIES"),
        retention_overrides=_get(env, "RETENTION_OVERRIDES"),
        purge_schedule=_get(env, "PURGE_SCHEDULE"),
        purge_grace_hours=_int(env, "PURGE_GRACE_HOURS", minimum=0),
        purge_client_id=_get(env, "PURGE_CLIENT_ID"),
        immutability_days=_int(env, "IMMUTABILITY_DAYS"),
        immutability_locked=_bool(env, "IMMUTABILITY_LOCKED"),
        content_compression=_choice(env, "CONTENT_COMPRESSION", ("none", "zstd")),
        content_encryption=_choice(env, "CONTENT_ENCRYPTION", ("none", "local", "keyvault")),
        content_key_url=_url(env, "CONTENT_KEY_URL"),
        content_local_key_file=_get(env, "CONTENT_LOCAL_KEY_FILE"),
    )
    for name, value in (
        ("GRAPH_CLIENT_SECRET", settings.client_secret),
        ("GRAPH_CLIENT_CERTIFICATE", settings.client_certificate),
    ):
        if value.startswith(
            "@Microsoft.KeyVault("
        ):  # App Service passes the reference through when it cannot resolve it
            raise ConfigError(
                f"{name} is an unresolved Key Vault reference: check that the app's identity has 'Key Vault "
                "Secrets User' on the vault and that the secret exists"
            )
    if not settings.client_secret and not settings.client_certificate:
        raise ConfigError("set GRAPH_CLIENT_CERTIFICATE (preferred) or GRAPH_CLIENT_SECRET for the Graph app")
    if not settings.storage_connection_string and not (settings.blob_endpoint and settings.table_endpoint):
        raise ConfigError(
            "set BACKUP_STORAGE_BLOB_ENDPOINT and BACKUP_STORAGE_TABLE_ENDPOINT "
            "(or BACKUP_STORAGE_CONNECTION_STRING for Azurite)"
        )
    if not workloads:
        raise ConfigError("BACKUP_WORKLOADS names no workload")
    _retention_policies(settings.retention_policies)  # a bad policy is a settings error, named now
    _retention_overrides(settings.retention_overrides)
    if settings.content_encryption == "keyvault" and not settings.content_key_url:
        raise ConfigError("setting CONTENT_KEY_URL is required when CONTENT_ENCRYPTION is keyvault")
    if settings.verify_sample_percent > 100:
        raise ConfigError(f"setting VERIFY_SAMPLE_PERCENT must be at most 100, got {settings.verify_sample_percent}")
    return settings


def _retention_policies(text: str) -> None:
    from core.retention import parse_policies

    parse_policies(text)


def _retention_overrides(text: str) -> None:
    from core.retention import parse_overrides

    parse_overrides(text)


def _default_workloads() -> tuple[str, ...]:
    from core.workloads.registry import default_workloads  # the registry imports every workload: only when needed

    return default_workloads()


def settings_help() -> str:
    """The settings table as text, for `python -m core --help`."""
    lines = ["settings (environment variables):"]
    for s in SETTINGS:
        default = "required" if s.default is None else (f"default {s.default!r}" if s.default else "optional")
        scope = "" if s.deployed else " [local only]"
        lines.append(f"  {s.name}  ({default}){scope}\n      {s.help}")
    return "\n".join(lines)
