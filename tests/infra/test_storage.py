"""Both storage accounts are identity-only and locked down; the backup account is WORM (version-level immutability)."""

from __future__ import annotations

import pytest

from core.storage.tables import TABLES
from tests.infra.bicep import accessor, conditional, decorators, module_params, only, parse

ACCOUNT = "Microsoft.Storage/storageAccounts"
BLOB_SERVICE = "Microsoft.Storage/storageAccounts/blobServices"
CONTAINER = "Microsoft.Storage/storageAccounts/blobServices/containers"
STORAGE_MODULES = ["modules/runtime-storage.bicep", "modules/backup-storage.bicep"]


@pytest.mark.parametrize("path", STORAGE_MODULES)
def test_account_is_identity_only_and_locked_down(path: str) -> None:
    props = only(parse(path), ACCOUNT)["properties"]
    assert props["allowSharedKeyAccess"] is False, "shared key (account key / SAS) access must be off"
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["allowBlobPublicAccess"] is False
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["defaultToOAuthAuthentication"] is True
    assert props["allowCrossTenantReplication"] is False
    # public network access is the deployment's parameter, and the firewall denies when it is Disabled
    assert props["publicNetworkAccess"] == "publicNetworkAccess"
    assert "publicNetworkAccess" in parse(path)["parameters"]
    cond, if_enabled, if_disabled = conditional(props["networkAcls"]["defaultAction"])
    assert cond == ("==", "publicNetworkAccess", "Enabled")
    assert (if_enabled, if_disabled) == ("Allow", "Deny")


@pytest.mark.parametrize("path", STORAGE_MODULES)
def test_containers_are_private(path: str) -> None:
    container = only(parse(path), CONTAINER)
    assert container["properties"]["publicAccess"] == "None"


def test_main_passes_public_network_access_to_every_account_and_the_vault() -> None:
    main = parse("main.bicep")
    assert main["parameters"]["publicNetworkAccess"]["default"] == "Enabled"
    for module in ("runtimeStorage", "backupStorage", "keyVault"):
        assert module_params(main, module)["publicNetworkAccess"] == "publicNetworkAccess", module


def test_backup_blobs_are_versioned_and_soft_deleted() -> None:
    props = only(parse("modules/backup-storage.bicep"), BLOB_SERVICE)["properties"]
    assert props["isVersioningEnabled"] is True
    assert props["deleteRetentionPolicy"] == {"enabled": True, "days": "blobSoftDeleteDays"}
    assert props["containerDeleteRetentionPolicy"] == {"enabled": True, "days": "containerSoftDeleteDays"}


def test_backup_container_has_version_level_immutability() -> None:
    container = only(parse("modules/backup-storage.bicep"), CONTAINER)
    assert container["name"] == "containerName"
    assert container["properties"]["immutableStorageWithVersioning"] == {"enabled": True}


def test_default_time_based_retention_comes_from_a_parameter_and_is_unlocked_by_default() -> None:
    module = parse("modules/backup-storage.bicep")
    worm = only(module, ACCOUNT)["properties"]["immutableStorageWithVersioning"]
    assert worm["enabled"] is True
    policy = worm["immutabilityPolicy"]
    assert policy["immutabilityPeriodSinceCreationInDays"] == "immutabilityRetentionDays"
    assert policy["allowProtectedAppendWrites"] is False
    # Locked only when the lock parameter says so; the parameter defaults to false in main.bicep
    assert conditional(policy["state"]) == ("lockImmutabilityPolicy", "Locked", "Unlocked")
    assert module["parameters"]["lockImmutabilityPolicy"]["type"] == "bool"

    main = parse("main.bicep")
    days = main["parameters"]["immutabilityRetentionDays"]
    assert days["type"] == "int"
    assert isinstance(days["default"], int) and days["default"] >= 1
    assert decorators(days)["min_value"] >= 1
    lock = main["parameters"]["lockImmutabilityPolicy"]
    assert (lock["type"], lock["default"]) == ("bool", False)
    wired = module_params(main, "backupStorage")
    assert wired["immutabilityRetentionDays"] == "immutabilityRetentionDays"
    assert wired["lockImmutabilityPolicy"] == "lockImmutabilityPolicy"
    assert wired["containerName"] == "backupContainerName"
    assert wired["tablePrefix"] == "backupTablePrefix"


def test_lifecycle_moves_content_to_cool_then_cold_and_never_deletes() -> None:
    module = parse("modules/backup-storage.bicep")
    rules = only(module, "Microsoft.Storage/storageAccounts/managementPolicies")["properties"]["policy"]["rules"]
    assert len(rules) == 1
    definition = rules[0]["definition"]
    assert definition["filters"]["prefixMatch"] == ["${containerName}/"]
    actions = definition["actions"]
    assert set(actions) == {"baseBlob"}
    assert actions["baseBlob"] == {
        "tierToCool": {"daysAfterModificationGreaterThan": "coolAfterDays"},
        "tierToCold": {"daysAfterModificationGreaterThan": "coldAfterDays"},
    }
    main = parse("main.bicep")["parameters"]
    assert main["coolAfterDays"]["default"] < main["coldAfterDays"]["default"]


def test_state_tables_are_the_ones_core_uses() -> None:
    module = parse("modules/backup-storage.bicep")
    assert module["variables"]["tableSuffixes"]["value"] == list(TABLES)
    tables = module["resources"]["tables"]
    assert tables["config"]["loop_type"]["detail"] == {"item_name": "suffix", "array_name": "tableSuffixes"}
    assert tables["config"]["config"]["name"] == "${tablePrefix}${suffix}"


def test_backup_account_is_geo_redundant_by_default() -> None:
    main = parse("main.bicep")
    assert main["parameters"]["backupStorageSku"]["default"] == "Standard_GRS"
    assert parse("modules/backup-storage.bicep")["parameters"]["skuName"]["default"] == "Standard_GRS"
    assert module_params(main, "backupStorage")["skuName"] == "backupStorageSku"


def test_key_vault_is_rbac_only_with_purge_protection() -> None:
    props = only(parse("modules/key-vault.bicep"), "Microsoft.KeyVault/vaults")["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enablePurgeProtection"] is True
    assert props["enableSoftDelete"] is True
    assert props["publicNetworkAccess"] == "publicNetworkAccess"
    assert "accessPolicies" not in props


def test_runtime_account_holds_the_flex_deployment_container() -> None:
    main = parse("main.bicep")
    fa = module_params(main, "functionApp")
    assert accessor(fa["deploymentContainerUrl"]) == "runtimeStorage.outputs.deploymentContainerUrl"
    container = only(parse("modules/runtime-storage.bicep"), CONTAINER)
    assert container["name"] == "deploymentContainerName"


def test_the_content_key_is_an_rsa_3072_wrapping_key_rotated_by_policy() -> None:
    module = parse("modules/key-vault.bicep")
    key = only(module, "Microsoft.KeyVault/vaults/keys")
    assert key["parent"] == "vault" and key["name"] == "contentKeyName"
    props = key["properties"]
    assert props["kty"] == "RSA" and props["keySize"] == "contentKeySize"
    assert module["parameters"]["contentKeySize"]["default"] == 3072
    assert props["keyOps"] == ["wrapKey", "unwrapKey"]  # wraps data keys, nothing else
    assert props["attributes"]["exportable"] is False and props["attributes"]["exp"] == "contentKeyFirstExpiry"
    policy = props["rotationPolicy"]
    actions = {a["action"]["type"]: a["trigger"] for a in policy["lifetimeActions"]}
    assert actions["rotate"] == {"timeAfterCreate": "contentKeyRotateAfter"}
    assert "timeBeforeExpiry" in actions["notify"]
    assert policy["attributes"]["expiryTime"] == "contentKeyExpiresAfter"
    rotate, expire = (module["parameters"][p]["default"] for p in ("contentKeyRotateAfter", "contentKeyExpiresAfter"))
    assert (rotate, expire) == ("P1Y", "P2Y")  # a version is rotated away well before it expires
