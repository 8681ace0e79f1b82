"""The Function App's app settings are exactly core's deployed settings plus the Functions host's own.

When core/config.py declares a new deployed setting, or infra/ adds an app setting, one of these tests fails
until the other side follows.
"""

from __future__ import annotations

import re

from core.config import SETTINGS
from tests.infra.bicep import accessor, conditional, function, module_params, only, parse

FUNCTION_APP = "modules/function-app.bicep"

# Settings that belong to the Functions host, not to core/ (by prefix):
# - AzureWebJobsStorage__*: identity-based host storage, also used by the Durable task hub
#   (blobServiceUri / queueServiceUri / tableServiceUri, credential=managedidentity, clientId);
# - APPLICATIONINSIGHTS_*: telemetry (connection string, Entra ID authentication string).
HOST_PREFIXES = ("AzureWebJobsStorage__", "APPLICATIONINSIGHTS_")
HOST_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
# Flex Consumption rejects these as app settings (the runtime lives in functionAppConfig; no content share),
# and a key-based AzureWebJobsStorage connection string would defeat shared-key-off.
FORBIDDEN = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "AzureWebJobsStorage",
}

# core setting -> main.bicep parameter that carries it with core's default (main -> module -> app setting).
PARAMETER_OF = {
    "GRAPH_ENDPOINT": "graphEndpoint",
    "GRAPH_AUTHORITY_HOST": "graphAuthorityHost",
    "GRAPH_PAGE_SIZE": "graphPageSize",
    "GRAPH_MAX_ATTEMPTS": "graphMaxAttempts",
    "GRAPH_TIMEOUT_SECONDS": "graphTimeoutSeconds",
    "GRAPH_BATCH_REQUESTS": "graphBatchRequests",
    "GRAPH_MAILBOX_CONCURRENCY": "graphMailboxConcurrency",
    "GRAPH_MAILBOX_REQUESTS_PER_10_MIN": "graphMailboxRequestsPer10Min",
    "GRAPH_SHAREPOINT_RU_PER_MINUTE": "graphSharePointRuPerMinute",
    "GRAPH_SHAREPOINT_RU_SHARES": "graphSharePointRuShares",
    "BACKUP_CONTAINER": "backupContainerName",
    "BACKUP_TABLE_PREFIX": "backupTablePrefix",
    "BACKUP_SCHEDULE": "backupSchedule",
    "BACKUP_BATCH_SIZE": "backupBatchSize",
    "BACKUP_RPO_HOURS": "backupRpoHours",
    "VERIFY_SCHEDULE": "verifySchedule",
    "VERIFY_SAMPLE_PERCENT": "verifySamplePercent",
    "RETENTION_POLICIES": "retentionPolicies",
    "RETENTION_OVERRIDES": "retentionOverrides",
    "PURGE_SCHEDULE": "purgeSchedule",
    "PURGE_GRACE_HOURS": "purgeGraceHours",
    "IMMUTABILITY_DAYS": "immutabilityRetentionDays",
    "BACKUP_WORKLOADS": "backupWorkloads",
    "BACKUP_ITEM_CONCURRENCY": "backupItemConcurrency",
    "BACKUP_INCLUDE_USERS": "backupIncludeUsers",
    "BACKUP_EXCLUDE_USERS": "backupExcludeUsers",
    "BACKUP_INCLUDE_SITES": "backupIncludeSites",
    "BACKUP_EXCLUDE_SITES": "backupExcludeSites",
    "BACKUP_EXCLUDE_LIBRARIES": "backupExcludeLibraries",
    "GRAPH_TENANT_ID": "graphTenantId",
    "GRAPH_CLIENT_ID": "graphClientId",
}


def _app_settings() -> dict[str, object]:
    site = only(parse(FUNCTION_APP), "Microsoft.Web/sites")
    entries = site["properties"]["siteConfig"]["appSettings"]
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names)), "an app setting is defined twice"
    return {e["name"]: e["value"] for e in entries}


def _is_host(name: str) -> bool:
    return name.startswith(HOST_PREFIXES)


def test_app_settings_equal_core_deployed_settings() -> None:
    deployed = {s.name for s in SETTINGS if s.deployed}
    defined = {name for name in _app_settings() if not _is_host(name)}
    missing = sorted(deployed - defined)
    extra = sorted(defined - deployed)
    assert not missing, f"core/config.py reads these but infra/ does not set them: {missing}"
    assert not extra, f"infra/ sets these but core/config.py does not declare them (deployed=True): {extra}"


def test_local_only_settings_are_not_deployed() -> None:
    local_only = {s.name for s in SETTINGS if not s.deployed}
    assert not local_only & set(_app_settings())


def test_host_settings_are_the_documented_identity_based_ones() -> None:
    settings = _app_settings()
    host = {name for name in settings if _is_host(name)}
    assert host == HOST_SETTINGS
    assert not FORBIDDEN & set(settings)
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    fa = module_params(parse("main.bicep"), "functionApp")
    for setting, output in [
        ("AzureWebJobsStorage__blobServiceUri", "blobEndpoint"),
        ("AzureWebJobsStorage__queueServiceUri", "queueEndpoint"),
        ("AzureWebJobsStorage__tableServiceUri", "tableEndpoint"),
    ]:
        module_param = settings[setting]
        assert accessor(fa[module_param]) == f"runtimeStorage.outputs.{output}", setting


def test_storage_identity_and_backup_endpoints() -> None:
    settings = _app_settings()
    fa = module_params(parse("main.bicep"), "functionApp")
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert accessor(fa["identityClientId"]) == "identity.outputs.clientId"
    assert accessor(fa[settings["BACKUP_STORAGE_BLOB_ENDPOINT"]]) == "backupStorage.outputs.blobEndpoint"
    assert accessor(fa[settings["BACKUP_STORAGE_TABLE_ENDPOINT"]]) == "backupStorage.outputs.tableEndpoint"


def test_the_purge_runs_under_its_own_identity_assigned_to_the_app() -> None:
    settings = _app_settings()
    fa = module_params(parse("main.bicep"), "functionApp")
    assert settings["PURGE_CLIENT_ID"] == "purgeIdentityClientId"
    assert accessor(fa["purgeIdentityClientId"]) == "purgeIdentity.outputs.clientId"
    assert accessor(fa["purgeIdentityId"]) == "purgeIdentity.outputs.id"
    assert accessor(fa["identityClientId"]) != accessor(fa["purgeIdentityClientId"])
    site = only(parse(FUNCTION_APP), "Microsoft.Web/sites")
    assert set(site["identity"]["userAssignedIdentities"]) == {"'${identityId}'", "'${purgeIdentityId}'"}
    # the host, Key Vault references and every other storage client stay on the backup identity
    assert settings["AzureWebJobsStorage__clientId"] == settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"


def test_immutability_days_and_the_containers_default_are_one_parameter() -> None:
    """IMMUTABILITY_DAYS (the window after each point) equals the container's default retention, so it is at
    least that default (the setting's contract) and no new blob is protected for less than the window."""
    settings = _app_settings()
    assert function(settings["IMMUTABILITY_DAYS"], "string")["value_to_convert"] == "immutabilityRetentionDays"
    main = parse("main.bicep")
    assert module_params(main, "functionApp")["immutabilityRetentionDays"] == "immutabilityRetentionDays"
    assert module_params(main, "backupStorage")["immutabilityRetentionDays"] == "immutabilityRetentionDays"
    # extensions are locked exactly when the container's default is
    assert conditional(settings["IMMUTABILITY_LOCKED"]) == ("lockImmutabilityPolicy", "true", "false")
    assert module_params(main, "functionApp")["lockImmutabilityPolicy"] == "lockImmutabilityPolicy"
    worm = only(parse("modules/backup-storage.bicep"), "Microsoft.Storage/storageAccounts")["properties"]
    assert worm["immutableStorageWithVersioning"]["immutabilityPolicy"]["immutabilityPeriodSinceCreationInDays"] == (
        "immutabilityRetentionDays"
    )


def test_content_is_compressed_and_encrypted_under_the_vaults_key() -> None:
    settings = _app_settings()
    assert settings["CONTENT_ENCRYPTION"] == "keyvault"
    assert settings["CONTENT_COMPRESSION"] == "contentCompression"
    assert settings["CONTENT_KEY_URL"] == "contentKeyUri"
    main = parse("main.bicep")
    fa = module_params(main, "functionApp")
    assert accessor(fa["contentKeyUri"]) == "keyVault.outputs.contentKeyUri"
    assert fa["contentCompression"] == "contentCompression"
    assert main["parameters"]["contentCompression"]["default"] == "zstd"
    outputs = parse("modules/key-vault.bicep")["outputs"]
    # versionless (not keyUriWithVersion): the app wraps with the newest version after each rotation
    assert accessor(outputs["contentKeyUri"]["value"]) == "contentKey.properties.keyUri"


def test_graph_credential_is_a_key_vault_reference_chosen_by_a_parameter() -> None:
    template = parse(FUNCTION_APP)
    settings = _app_settings()
    reference = re.compile(r"^@Microsoft\.KeyVault\(VaultName=\$\{keyVaultName\};SecretName=\$\{(\w+)\}\)$")
    for setting, kind, var in [
        ("GRAPH_CLIENT_CERTIFICATE", "certificate", "certificateReference"),
        ("GRAPH_CLIENT_SECRET", "secret", "secretReference"),
    ]:
        condition, chosen, other = conditional(settings[setting])
        assert condition == ("==", "graphCredentialType", kind)
        assert (chosen, other) == (var, "")
        match = reference.match(template["variables"][var]["value"])
        assert match, template["variables"][var]["value"]
        assert match.group(1) in template["parameters"]
    site = only(template, "Microsoft.Web/sites")
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"
    main = parse("main.bicep")["parameters"]["graphCredentialType"]
    assert main["default"] == "certificate"


def test_parameters_keep_core_defaults_and_reach_the_app_setting() -> None:
    main = parse("main.bicep")
    fa = module_params(main, "functionApp")
    settings = _app_settings()
    by_name = {s.name: s for s in SETTINGS}
    for setting, parameter in PARAMETER_OF.items():
        declared = main["parameters"][parameter]
        default = by_name[setting].default
        if default is not None:
            assert str(declared["default"]) == default, f"{parameter} default differs from core's {setting}"
        assert fa[parameter] == parameter, f"main.bicep does not pass {parameter} to the function app"
        value = settings[setting]
        if declared["type"] == "int":
            value = function(value, "string")["value_to_convert"]
        assert value == parameter, setting


def test_flex_consumption_python_311_with_identity_deployment() -> None:
    template = parse(FUNCTION_APP)
    plan = only(template, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    site = only(template, "Microsoft.Web/sites")
    assert site["kind"] == "functionapp,linux"
    assert site["identity"]["type"] == "UserAssigned"
    props = site["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    config = props["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}
    policies = {
        body["name"]: body["properties"]["allow"]
        for body in (
            d["config"]
            for d in template["resources"].values()
            if d["type"] == "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
        )
    }
    assert policies == {"ftp": False, "scm": False}
