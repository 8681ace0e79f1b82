"""Settings: one frozen object built from the environment by `load_settings()` (never at import time).

Every setting core/ reads is declared once in `SETTINGS` (core/config_table.py). The CLI's `--help` prints that
table, the README's configuration table mirrors it, and the infrastructure tests compare the `deployed` ones with the
app settings that infra/ defines, so neither side can add a setting the other lacks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.config_checks import storage_name_errors
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
    batch_requests: int
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
    fanout_width: int = 50  # BACKUP_FANOUT_WIDTH: sub-orchestrations per backup orchestration (blueprints/backup.py)
    local_processes: int = 1  # the local runner's worker processes (core/resource_processes.py); 0: the machine's
    api_audiences: tuple[str, ...] = ()
    calendar_past_days: int = 3650
    calendar_future_days: int = 1825
    archive_mailboxes: bool = True
    storage_direct_writes: bool = True  # core/storage/direct_put.py, direct_batch.py, direct_query.py
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
    rpo_hours: int = 24  # BACKUP_RPO_HOURS: a resource whose last good point is older is past its RPO (core/report.py)
    ransomware_change_percent: int = 30  # the ransomware signal's thresholds (core/signals/assessment.py)
    ransomware_encrypted_percent: int = 30
    ransomware_min_files: int = 10
    ransomware_extension_files: int = 3
    ransomware_baseline_points: int = 10
    sharepoint_ru_per_minute: int = 1200  # GRAPH_SHAREPOINT_RU_PER_MINUTE (core/graph/ru_budget.py); 0: off
    sharepoint_ru_shares: int = 1
    sharepoint_ru_window_seconds: int = 60

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


def _int(env: Mapping[str, str], name: str, minimum: int = 1, maximum: int | None = None) -> int:
    raw = _get(env, name)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"setting {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"setting {name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"setting {name} must be <= {maximum}, got {value}")
    return value


def _int_or(env: Mapping[str, str], name: str, machine_default: int) -> int:
    """An integer setting whose default follows the machine (its table default is empty)."""
    return _int(env, name) if env.get(name) else machine_default


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
    """Build Settings from `env` (default: os.environ). Raises ConfigError naming every bad setting, one a line."""
    env = os.environ if env is None else env
    errors: list[str] = []  # every bad setting is reported, not only the first

    def take(read: Callable[..., Any], env: Mapping[str, str], name: str, *args: Any, **options: Any) -> Any:
        """The setting as `read` gives it; a bad one is noted and its default stands in, so the rest is checked."""
        try:
            return read(env, name, *args, **options)
        except ConfigError as exc:
            errors.append(str(exc))
            default = _BY_NAME[name].default
            return read({name: default}, name, *args, **options) if default else ""

    workloads = _list(env, "BACKUP_WORKLOADS") if env.get("BACKUP_WORKLOADS") else _default_workloads()
    settings = Settings(
        tenant_id=take(_get, env, "GRAPH_TENANT_ID"),
        client_id=take(_get, env, "GRAPH_CLIENT_ID"),
        client_secret=take(_get, env, "GRAPH_CLIENT_SECRET"),
        client_certificate=take(_get, env, "GRAPH_CLIENT_CERTIFICATE"),
        graph_endpoint=take(_url, env, "GRAPH_ENDPOINT"),
        authority_host=take(_url, env, "GRAPH_AUTHORITY_HOST"),
        ca_bundle=take(_get, env, "GRAPH_CA_BUNDLE"),
        page_size=take(_int, env, "GRAPH_PAGE_SIZE"),
        batch_requests=take(_int, env, "GRAPH_BATCH_REQUESTS", 0, maximum=20),
        max_attempts=take(_int, env, "GRAPH_MAX_ATTEMPTS"),
        timeout_seconds=float(take(_int, env, "GRAPH_TIMEOUT_SECONDS")),
        mailbox_concurrency=take(_int, env, "GRAPH_MAILBOX_CONCURRENCY"),
        mailbox_requests_per_10_min=take(_int, env, "GRAPH_MAILBOX_REQUESTS_PER_10_MIN"),
        sharepoint_ru_per_minute=take(_int, env, "GRAPH_SHAREPOINT_RU_PER_MINUTE", minimum=0),
        sharepoint_ru_shares=take(_int, env, "GRAPH_SHAREPOINT_RU_SHARES"),
        sharepoint_ru_window_seconds=take(_int, env, "GRAPH_SHAREPOINT_RU_WINDOW_SECONDS"),
        blob_endpoint=take(_url, env, "BACKUP_STORAGE_BLOB_ENDPOINT"),
        table_endpoint=take(_url, env, "BACKUP_STORAGE_TABLE_ENDPOINT"),
        storage_connection_string=take(_get, env, "BACKUP_STORAGE_CONNECTION_STRING"),
        container=take(_get, env, "BACKUP_CONTAINER"),
        table_prefix=take(_get, env, "BACKUP_TABLE_PREFIX"),
        schedule=take(_get, env, "BACKUP_SCHEDULE"),
        batch_size=take(_int, env, "BACKUP_BATCH_SIZE"),
        fanout_width=take(_int, env, "BACKUP_FANOUT_WIDTH", 2),
        rpo_hours=take(_int, env, "BACKUP_RPO_HOURS"),
        workloads=workloads,
        item_concurrency=take(_int, env, "BACKUP_ITEM_CONCURRENCY"),
        local_concurrency=take(_int_or, env, "BACKUP_LOCAL_CONCURRENCY", LOCAL_RESOURCES_PER_CPU * usable_cpus()),
        local_processes=take(_int_or, env, "BACKUP_LOCAL_PROCESSES", 0),  # 0: the machine's (resource_processes.py)
        include_users=take(_list, env, "BACKUP_INCLUDE_USERS"),
        exclude_users=take(_list, env, "BACKUP_EXCLUDE_USERS"),
        include_sites=take(_list, env, "BACKUP_INCLUDE_SITES"),
        exclude_sites=take(_list, env, "BACKUP_EXCLUDE_SITES"),
        exclude_libraries=take(_list, env, "BACKUP_EXCLUDE_LIBRARIES"),
        managed_identity_client_id=take(_get, env, "AZURE_CLIENT_ID"),
        api_audiences=take(_list, env, "API_AUDIENCE"),
        calendar_past_days=take(_int, env, "BACKUP_CALENDAR_PAST_DAYS"),
        calendar_future_days=take(_int, env, "BACKUP_CALENDAR_FUTURE_DAYS"),
        archive_mailboxes=take(_bool, env, "BACKUP_ARCHIVE_MAILBOXES"),
        storage_direct_writes=take(_bool, env, "BACKUP_STORAGE_DIRECT_WRITES"),
        verify_schedule=take(_get, env, "VERIFY_SCHEDULE"),
        verify_sample_percent=take(_int, env, "VERIFY_SAMPLE_PERCENT"),
        retention_policies=take(_get, env, "RETENTION_POLICIES"),
        retention_overrides=take(_get, env, "RETENTION_OVERRIDES"),
        purge_schedule=take(_get, env, "PURGE_SCHEDULE"),
        purge_grace_hours=take(_int, env, "PURGE_GRACE_HOURS", minimum=0),
        purge_client_id=take(_get, env, "PURGE_CLIENT_ID"),
        immutability_days=take(_int, env, "IMMUTABILITY_DAYS"),
        immutability_locked=take(_bool, env, "IMMUTABILITY_LOCKED"),
        content_compression=take(_choice, env, "CONTENT_COMPRESSION", ("none", "zstd")),
        content_encryption=take(_choice, env, "CONTENT_ENCRYPTION", ("none", "local", "keyvault")),
        content_key_url=take(_url, env, "CONTENT_KEY_URL"),
        content_local_key_file=take(_get, env, "CONTENT_LOCAL_KEY_FILE"),
        ransomware_change_percent=take(_int, env, "RANSOMWARE_CHANGE_PERCENT"),
        ransomware_encrypted_percent=take(_int, env, "RANSOMWARE_ENCRYPTED_PERCENT"),
        ransomware_min_files=take(_int, env, "RANSOMWARE_MIN_FILES"),
        ransomware_extension_files=take(_int, env, "RANSOMWARE_EXTENSION_FILES"),
        ransomware_baseline_points=take(_int, env, "RANSOMWARE_BASELINE_POINTS"),
    )
    for name, value in (
        ("GRAPH_CLIENT_SECRET", settings.client_secret),
        ("GRAPH_CLIENT_CERTIFICATE", settings.client_certificate),
    ):
        if value.startswith(
            "@Microsoft.KeyVault("
        ):  # App Service passes the reference through when it cannot resolve it
            errors.append(
                f"{name} is an unresolved Key Vault reference: check that the app's identity has 'Key Vault "
                "Secrets User' on the vault and that the secret exists"
            )
    if not settings.client_secret and not settings.client_certificate:
        errors.append("set GRAPH_CLIENT_CERTIFICATE (preferred) or GRAPH_CLIENT_SECRET for the Graph app")
    if not settings.storage_connection_string and not (settings.blob_endpoint and settings.table_endpoint):
        errors.append(
            "set BACKUP_STORAGE_BLOB_ENDPOINT and BACKUP_STORAGE_TABLE_ENDPOINT "
            "(or BACKUP_STORAGE_CONNECTION_STRING for Azurite)"
        )
    if not workloads:
        errors.append("BACKUP_WORKLOADS names no workload")
    for check, text in ((_retention_policies, settings.retention_policies),  # a bad policy: named now
                        (_retention_overrides, settings.retention_overrides)):  # fmt: skip
        try:
            check(text)
        except ConfigError as exc:
            errors.append(str(exc))
    errors += storage_name_errors(settings)
    if errors:
        raise ConfigError("\nerror: ".join(errors))  # one line each, as the CLI prints them
    if settings.content_encryption == "keyvault" and not settings.content_key_url:
        errors.append("setting CONTENT_KEY_URL is required when CONTENT_ENCRYPTION is keyvault")
    if settings.verify_sample_percent > 100:
        errors.append(f"setting VERIFY_SAMPLE_PERCENT must be at most 100, got {settings.verify_sample_percent}")
    return settings


# the local runner's default resources in flight per CPU: a small mailbox spends most of its backup waiting on Graph
# (50 mailboxes of 20 messages on 2 CPUs, one process: 6.0 s all in flight, 9.3 s 16 at a time), so enough of them
# to keep each CPU busy is many; each costs memory (~0.7 MB for a small mailbox) and up to 4 Graph connections
LOCAL_RESOURCES_PER_CPU = 25


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity, e.g. a container's cpuset), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


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
