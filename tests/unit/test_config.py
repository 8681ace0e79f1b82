import os

import pytest

from core.config import SETTINGS, load_settings, settings_help
from core.errors import ConfigError
from core.resource_processes import worker_processes

BASE = {
    "GRAPH_TENANT_ID": "t",
    "GRAPH_CLIENT_ID": "c",
    "GRAPH_CLIENT_SECRET": "s",
    "BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true",
}


def test_defaults_fill_in():
    settings = load_settings(BASE)
    assert settings.graph_endpoint == "https://graph.microsoft.com"
    assert settings.mailbox_concurrency == 4
    assert settings.batch_requests == 20 and load_settings({**BASE, "GRAPH_BATCH_REQUESTS": "0"}).batch_requests == 0
    assert settings.workloads == ("exchange",)
    assert settings.is_public_cloud_authority


def test_the_local_runner_follows_the_machine_unless_told():
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    settings = load_settings(BASE)
    assert (settings.local_processes, settings.local_concurrency) == (0, 25 * cpus)  # 0: per CPU and resources
    told = load_settings({**BASE, "BACKUP_LOCAL_PROCESSES": "3", "BACKUP_LOCAL_CONCURRENCY": "5"})
    assert (told.local_processes, told.local_concurrency) == (3, 5)
    with pytest.raises(ConfigError, match="BACKUP_LOCAL_PROCESSES must be >= 1"):
        load_settings({**BASE, "BACKUP_LOCAL_PROCESSES": "0"})


def test_worker_processes_only_for_more_resources_than_are_in_flight_at_once():
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    machine = load_settings({**BASE, "BACKUP_LOCAL_CONCURRENCY": "10"})
    assert worker_processes(machine, 1) == worker_processes(machine, 10) == 1  # all at once: the runner's threads
    assert worker_processes(machine, 11) == min(cpus, 10)  # more: one process per CPU
    told = load_settings({**BASE, "BACKUP_LOCAL_CONCURRENCY": "10", "BACKUP_LOCAL_PROCESSES": "3"})
    assert (worker_processes(told, 5), worker_processes(told, 2)) == (3, 2)  # told; never more than the resources
    assert worker_processes(load_settings({**BASE, "BACKUP_LOCAL_CONCURRENCY": "2", "BACKUP_LOCAL_PROCESSES": "3"}),
                            50) == 2  # fmt: skip  # nor more than are in flight at once


def test_national_cloud_endpoints_are_settings():
    settings = load_settings(
        {
            **BASE,
            "GRAPH_ENDPOINT": "https://graph.microsoft.us/",
            "GRAPH_AUTHORITY_HOST": "https://login.microsoftonline.us",
        }
    )
    assert settings.graph_endpoint == "https://graph.microsoft.us"
    assert settings.is_public_cloud_authority
    assert not load_settings({**BASE, "GRAPH_AUTHORITY_HOST": "https://127.0.0.1:9999"}).is_public_cloud_authority


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"GRAPH_TENANT_ID": ""}, "GRAPH_TENANT_ID is required"),
        ({"GRAPH_CLIENT_SECRET": ""}, "GRAPH_CLIENT_CERTIFICATE"),
        ({"GRAPH_PAGE_SIZE": "many"}, "GRAPH_PAGE_SIZE must be an integer"),
        ({"BACKUP_BATCH_SIZE": "0"}, "BACKUP_BATCH_SIZE must be >= 1"),
        ({"GRAPH_BATCH_REQUESTS": "21"}, "GRAPH_BATCH_REQUESTS must be <= 20"),  # Graph's limit per batch
        ({"GRAPH_BATCH_REQUESTS": "-1"}, "GRAPH_BATCH_REQUESTS must be >= 0"),
        ({"GRAPH_ENDPOINT": "http://graph.microsoft.com"}, "must be an https:// URL"),
        ({"BACKUP_STORAGE_CONNECTION_STRING": ""}, "BACKUP_STORAGE_BLOB_ENDPOINT"),
        ({"BACKUP_WORKLOADS": " , "}, "names no workload"),
        ({"GRAPH_CLIENT_SECRET": "@Microsoft.KeyVault(VaultName=v;SecretName=s)"}, "unresolved Key Vault reference"),
    ],
)
def test_bad_settings_are_named(change, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({**BASE, **change})


def test_help_documents_every_setting():
    text = settings_help()
    assert all(s.name in text for s in SETTINGS)
