"""Settings: one frozen object built from the environment by `load_settings()` (never at import time).

Every setting core/ reads is declared once in `SETTINGS`. The CLI's `--help` prints this table, the README's
configuration table mirrors it, and the infrastructure tests compare the `deployed` ones with the app settings
that infra/ defines, so neither side can add a setting the other lacks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str
    deployed: bool = True  # False: a local/dev-only setting that the Azure deployment never sets


SETTINGS: tuple[Setting, ...] = (
    Setting("GRAPH_TENANT_ID", None, "Entra ID tenant (directory) id whose Microsoft 365 data is backed up."),
    Setting("GRAPH_CLIENT_ID", None, "Application (client) id of the Graph app registration."),
    Setting(
        "GRAPH_CLIENT_SECRET",
        "",
        "Client secret of the Graph app (a Key Vault reference in Azure). Set this or GRAPH_CLIENT_CERTIFICATE.",
    ),
    Setting(
        "GRAPH_CLIENT_CERTIFICATE",
        "",
        "Client certificate of the Graph app: PEM text with the private key, or base64 PKCS#12 as Key Vault "
        "returns a certificate secret. Preferred over a secret.",
    ),
    Setting(
        "GRAPH_ENDPOINT",
        "https://graph.microsoft.com",
        "Microsoft Graph endpoint: graph.microsoft.us (US Gov), dod-graph.microsoft.us (DoD), "
        "microsoftgraph.chinacloudapi.cn (China).",
    ),
    Setting(
        "GRAPH_AUTHORITY_HOST",
        "https://login.microsoftonline.com",
        "Sign-in authority host: login.microsoftonline.us (US Gov/DoD), login.chinacloudapi.cn (China).",
    ),
    Setting(
        "GRAPH_CA_BUNDLE",
        "",
        "PEM file of extra CA certificates to trust for Graph and sign-in (the local tenant simulator only).",
        deployed=False,
    ),
    Setting("GRAPH_PAGE_SIZE", "100", "Items per delta page asked with Prefer: odata.maxpagesize."),
    Setting("GRAPH_MAX_ATTEMPTS", "8", "Attempts per Graph request on 429/503/504 and transport errors."),
    Setting("GRAPH_TIMEOUT_SECONDS", "60", "Timeout of one Graph request, in seconds."),
    Setting("GRAPH_MAILBOX_CONCURRENCY", "4", "Concurrent Graph requests per mailbox (Outlook allows 4)."),
    Setting(
        "GRAPH_MAILBOX_REQUESTS_PER_10_MIN",
        "10000",
        "Graph requests per mailbox per 10 minutes (Outlook's per-app, per-mailbox limit).",
    ),
    Setting(
        "BACKUP_STORAGE_BLOB_ENDPOINT",
        "",
        "Blob endpoint of the backup storage account (identity-based access), e.g. https://acct.blob.core.windows.net.",
    ),
    Setting(
        "BACKUP_STORAGE_TABLE_ENDPOINT",
        "",
        "Table endpoint of the backup storage account (identity-based access).",
    ),
    Setting(
        "BACKUP_STORAGE_CONNECTION_STRING",
        "",
        "Connection string for the backup storage (Azurite locally). Takes precedence over the endpoints.",
        deployed=False,
    ),
    Setting("BACKUP_CONTAINER", "backup", "Blob container holding backed-up content (write-once)."),
    Setting("BACKUP_TABLE_PREFIX", "m365bk", "Prefix of the Table Storage tables (delta state, catalog, runs)."),
    Setting("BACKUP_SCHEDULE", "0 0 */4 * * *", "NCRONTAB schedule of the timer-triggered backup."),
    Setting("BACKUP_BATCH_SIZE", "50", "Resources per sub-orchestration in the backup fan-out."),
    Setting(
        "VERIFY_SCHEDULE",
        "0 0 5 * * 0",
        "NCRONTAB schedule of the timer-triggered verification (content read back against its hashes).",
    ),
    Setting(
        "RETENTION_POLICIES",
        "",
        "Restore points each workload keeps (GFS): 'default: all=30d, daily=30, weekly=12, monthly=12, yearly=7; "
        "teams: all=90d'; empty: every point forever.",
    ),
    Setting("VERIFY_SAMPLE_PERCENT", "10", "Share of the stored blobs a scheduled verification reads back (1-100)."),
    Setting(
        "BACKUP_WORKLOADS",
        "",
        "Comma-separated workloads to back up (exchange, onedrive, sharepoint, teams, chats, groups); empty: those on "
        "by default (exchange).",
    ),
    Setting(
        "BACKUP_INCLUDE_USERS",
        "",
        "Comma-separated user ids or UPNs to back up (mailbox and OneDrive); empty: every user.",
    ),
    Setting("BACKUP_EXCLUDE_USERS", "", "Comma-separated user ids or UPNs never to back up."),
    Setting(
        "BACKUP_INCLUDE_SITES",
        "",
        "Comma-separated SharePoint site URLs (a site and its subsites by URL prefix) to back up; empty: every site.",
    ),
    Setting("BACKUP_EXCLUDE_SITES", "", "Comma-separated SharePoint site URLs (prefixes) never to back up."),
    Setting(
        "BACKUP_EXCLUDE_LIBRARIES",
        "",
        "Comma-separated document library names to skip in every site (e.g. Preservation Hold Library).",
    ),
    Setting(
        "BACKUP_ITEM_CONCURRENCY",
        "4",
        "Items fetched in parallel within one resource (bounded again by GRAPH_MAILBOX_CONCURRENCY).",
    ),
    Setting(
        "BACKUP_LOCAL_CONCURRENCY",
        "4",
        "Resources backed up in parallel by the local CLI runner.",
        deployed=False,
    ),
    Setting(
        "BACKUP_CALENDAR_PAST_DAYS",
        "3650",
        "Days before today that the calendarView window of a calendar's backup reaches back.",
        deployed=False,
    ),
    Setting(
        "BACKUP_CALENDAR_FUTURE_DAYS",
        "1825",
        "Days after today that the calendarView window reaches ahead. The window moves (a new full round of the "
        "calendar) once a tenth of it has gone by, or when either setting widens it.",
        deployed=False,
    ),
    Setting(
        "BACKUP_ARCHIVE_MAILBOXES",
        "true",
        "Back up each mailbox's in-place archive (Graph beta: settings/exchange, then the beta Mail API); false turns "
        "it off.",
        deployed=False,
    ),
    Setting(
        "API_AUDIENCE",
        "",
        "Comma-separated audiences the restore API accepts in bearer tokens: its app registration's client id and "
        "Application ID URI (api://...). Empty: every /api/v1 call is refused (401). Tokens must come from "
        "GRAPH_TENANT_ID's issuer ({GRAPH_AUTHORITY_HOST}/{tenant}/v2.0), checked against that tenant's JWKS.",
    ),
    Setting(
        "AZURE_CLIENT_ID",
        "",
        "Client id of the user-assigned managed identity used for storage (empty: the default credential chain).",
    ),
)

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
    if settings.verify_sample_percent > 100:
        raise ConfigError(f"setting VERIFY_SAMPLE_PERCENT must be at most 100, got {settings.verify_sample_percent}")
    return settings


def _retention_policies(text: str) -> None:
    from core.retention import parse_policies

    parse_policies(text)


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
