"""Every setting core/ reads, declared once: its name, default (None: required), help and whether the Azure
deployment sets it. core/config.py builds Settings from it; the CLI's `--help` prints it, the README's configuration
table mirrors it, and the infrastructure tests compare the `deployed` ones with the app settings infra/ defines."""

from __future__ import annotations

from dataclasses import dataclass


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
    Setting(
        "GRAPH_BATCH_REQUESTS",
        "20",
        "Requests per JSON batch a mailbox's reads are sent ahead in (at most Graph's 20; 0: no batching, each alone).",
    ),
    Setting("GRAPH_MAX_ATTEMPTS", "8", "Attempts per Graph request on 429/503/504 and transport errors."),
    Setting("GRAPH_TIMEOUT_SECONDS", "60", "Timeout of one Graph request, in seconds."),
    Setting("GRAPH_MAILBOX_CONCURRENCY", "4", "Concurrent Graph requests per mailbox (Outlook allows 4)."),
    Setting(
        "GRAPH_MAILBOX_REQUESTS_PER_10_MIN",
        "10000",
        "Graph requests per mailbox per 10 minutes (Outlook's per-app, per-mailbox limit).",
    ),
    Setting(
        "GRAPH_SHAREPOINT_RU_PER_MINUTE",
        "1200",
        "SharePoint/OneDrive resource units per minute of the tenant's tier (1200, 2400, 3600, 4800, 6000 for "
        "0-1k, 1k-5k, 5k-15k, 15k-50k, 50k+ licences; shared by all apps of one vendor); 0: no client budget.",
    ),
    Setting(
        "GRAPH_SHAREPOINT_RU_SHARES",
        "1",
        "Processes that spend that budget at once (Function App instances x FUNCTIONS_WORKER_PROCESS_COUNT): "
        "each process spends GRAPH_SHAREPOINT_RU_PER_MINUTE / this.",
    ),
    Setting(
        "GRAPH_SHAREPOINT_RU_WINDOW_SECONDS",
        "60",
        "Length of the RU budget's minute in seconds (the local simulator compresses it for tests and benches).",
        deployed=False,
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
    Setting(
        "BACKUP_STORAGE_DIRECT_WRITES",
        "true",
        "Write small content and catalog transactions, and read the catalog and delta state, as directly signed "
        "storage requests, not through the storage SDKs' pipelines (less CPU per item; anything not answered for "
        "certain goes through the SDKs); false: all through the SDKs.",
        deployed=False,
    ),
    Setting("BACKUP_CONTAINER", "backup", "Blob container holding backed-up content (write-once)."),
    Setting("BACKUP_TABLE_PREFIX", "m365bk", "Prefix of the Table Storage tables (delta state, catalog, runs)."),
    Setting("BACKUP_SCHEDULE", "0 0 */4 * * *", "NCRONTAB schedule of the timer-triggered backup."),
    Setting("BACKUP_BATCH_SIZE", "50", "Resources per sub-orchestration in the backup fan-out."),
    Setting(
        "BACKUP_FANOUT_WIDTH",
        "50",
        "Sub-orchestrations any one backup orchestration starts (at least 2): more batches than this are fanned out "
        "through a tree of orchestrations, so no history grows with the tenant.",
        deployed=False,  # the deployment keeps the default; an app setting of this name tunes it
    ),
    Setting(
        "BACKUP_RPO_HOURS",
        "24",
        "Recovery point objective in hours: a resource whose last good backup is older is past its RPO (the "
        "protection report, its alert).",
    ),
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
        "RETENTION_OVERRIDES",
        "",
        "Per-resource retention that replaces its workload's policy: '<workload>:<id> = <terms>' entries separated by "
        "';' (e.g. 'exchange:<user id> = all=3650d'); empty: none.",
    ),
    Setting(
        "PURGE_SCHEDULE",
        "0 30 2 * * *",
        "NCRONTAB schedule of the timer-triggered purge (marks what retention expires, sweeps what was marked "
        "PURGE_GRACE_HOURS ago). Nothing is purged while RETENTION_POLICIES and RETENTION_OVERRIDES are empty.",
    ),
    Setting(
        "PURGE_GRACE_HOURS",
        "24",
        "Hours between marking a restore point, version or blob for removal and removing it (0: the same run).",
    ),
    Setting(
        "PURGE_CLIENT_ID",
        "",
        "Client id of the user-assigned managed identity the purge and erasure use for storage: the only identity "
        "that may delete (empty: the backup's credential, as locally against Azurite).",
    ),
    Setting(
        "IMMUTABILITY_DAYS",
        "30",
        "Days a restore point's content stays immutable after the point is taken (per-blob policies, extended as "
        "newer points reference a blob); at least the container's immutabilityRetentionDays (the Bicep sets both "
        "from that one parameter).",
    ),
    Setting(
        "IMMUTABILITY_LOCKED",
        "false",
        "Set the per-blob immutability policies the app extends Locked (irreversible: never shortened, by anyone) "
        "rather than Unlocked; the Bicep sets it with lockImmutabilityPolicy. A Locked policy stays Locked either way.",
    ),
    Setting(
        "CONTENT_COMPRESSION",
        "none",
        "How content is compressed before it is stored: zstd or none. Content stored before a change stays readable.",
    ),
    Setting(
        "CONTENT_ENCRYPTION",
        "none",
        "Client-side encryption of content (AES-256-GCM under data keys wrapped by the customer's key): keyvault "
        "(CONTENT_KEY_URL), local (CONTENT_LOCAL_KEY_FILE, demo and tests) or none.",
    ),
    Setting(
        "CONTENT_KEY_URL",
        "",
        "Key Vault key identifier (https://<vault>.vault.azure.net/keys/<name>) that wraps the data keys, for "
        "CONTENT_ENCRYPTION=keyvault.",
    ),
    Setting(
        "CONTENT_LOCAL_KEY_FILE",
        ".local/content-key.json",
        "The local key provider's key file (created on first use), for CONTENT_ENCRYPTION=local.",
        deployed=False,
    ),
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
        "8",
        "Items fetched in parallel within one resource (bounded again by GRAPH_MAILBOX_CONCURRENCY: twice as many "
        "items as request slots keep the slots busy while items are stored).",
    ),
    Setting(
        "BACKUP_LOCAL_CONCURRENCY",
        "",
        "Resources backed up in parallel by the local CLI runner, over all its processes; empty: 25 per CPU.",
        deployed=False,
    ),
    Setting(
        "BACKUP_LOCAL_PROCESSES",
        "",
        "Worker processes of the local CLI runner, each owning whole resources (a Python process has one GIL: "
        "one core at most); empty: one per CPU when the resources are more than BACKUP_LOCAL_CONCURRENCY (up to that "
        "many, all at once in threads); 1: threads in the calling process only.",
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
        "RANSOMWARE_CHANGE_PERCENT",
        "30",
        "Least share (%) of a resource's files changed, renamed or deleted "
        "in one run that flags its restore point suspicious, above the resource's own baseline.",
        deployed=False,
    ),
    Setting(
        "RANSOMWARE_ENCRYPTED_PERCENT",
        "30",
        "Least share (%) of a run's new file contents that look encrypted "
        "(entropy, broken magic numbers) that flags its point suspicious, above the baseline.",
        deployed=False,
    ),
    Setting(
        "RANSOMWARE_MIN_FILES",
        "10",
        "Fewest files a change or content signal must involve to flag a point.",
        deployed=False,
    ),
    Setting(
        "RANSOMWARE_EXTENSION_FILES",
        "3",
        "Files created or renamed with a known ransomware extension (.locky, "
        ".wncry, ...) in one run that flag its point, whatever the baseline.",
        deployed=False,
    ),
    Setting(
        "RANSOMWARE_BASELINE_POINTS",
        "10",
        "Unflagged restore points per resource in the signal's rolling baseline.",
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
