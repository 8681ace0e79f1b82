"""Each identity gets exactly the data roles it needs, each on its scope, named guid(scope, principal, role); the
backup identity cannot delete anything, the purge identity is the only one that may, and neither can both change an
immutability policy and delete (issue 14)."""

from __future__ import annotations

from core.storage.tables import TABLES
from tests.infra.bicep import accessor, config, function, module_params, module_path, parse, resources

ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
ROLE_DEFINITION = "Microsoft.Authorization/roleDefinitions"

# Built-in role definition ids (identical in every Azure cloud).
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
KEY_VAULT_CERTIFICATES_OFFICER = "a4417e6f-fecd-4de8-b567-7b0420556985"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"

# Management-plane roles the app identity must never hold (can list keys, change settings or grant access).
MANAGEMENT_PLANE = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    "81a9662b-bebf-436f-a333-f67b29880f12": "Storage Account Key Operator Service Role",
    "f25e0fa2-a7c8-4377-a976-54943a77a395": "Key Vault Contributor",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "de139f84-1756-47ae-9be6-808fbbe84772": "Website Contributor",
}
# Built-in roles that may delete backed-up data (blobs or table rows): never the backup identity's.
DELETING_BUILT_INS = {STORAGE_BLOB_DATA_OWNER, STORAGE_BLOB_DATA_CONTRIBUTOR, STORAGE_TABLE_DATA_CONTRIBUTOR}

BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
ENTITIES = "Microsoft.Storage/storageAccounts/tableServices/tables/entities"
SET_POLICY = f"{BLOBS}/immutableStorage/runAsSuperUser/action"  # set AND delete an immutability policy

# (principal, scope, role) for every assignment of the Function App's identities ("custom:<symbol>": a role
# defined in roles.bicep).
EXPECTED_ROLES = {
    ("principalId", "runtimeStorage", STORAGE_BLOB_DATA_OWNER),
    ("principalId", "runtimeStorage", STORAGE_QUEUE_DATA_CONTRIBUTOR),
    ("principalId", "runtimeStorage", STORAGE_TABLE_DATA_CONTRIBUTOR),
    ("principalId", "backupStorage.blobService.container", "custom:contentWriterRole"),
    ("principalId", "backupStorage", "custom:stateWriterRole"),
    ("principalId", "vault", KEY_VAULT_SECRETS_USER),
    ("principalId", "vault.contentKey", KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER),
    ("principalId", "applicationInsights", MONITORING_METRICS_PUBLISHER),
    ("purgePrincipalId", "backupStorage.blobService.container", "custom:contentRemoverRole"),
    ("purgePrincipalId", "backupStorage", "custom:stateWriterRole"),
    ("purgePrincipalId", "purgeTables[i]", STORAGE_TABLE_DATA_CONTRIBUTOR),
}


def _role_id(template: dict, expr) -> str:
    """Resolve `roles.x` / a variable name to the GUID it holds; `someRole.name` of a role defined in the template
    to 'custom:someRole'."""
    name = accessor(expr)
    variables = template["variables"]
    if name.endswith(".name") and name[: -len(".name")] in resources(template, ROLE_DEFINITION):
        return f"custom:{name[: -len('.name')]}"
    if "." in name:
        var, key = name.split(".", 1)
        return variables[var]["value"][key]
    return variables[name]["value"] if name in variables else name


def _assignments(path: str) -> list[tuple[str, str, dict]]:
    template = parse(path)
    found = []
    for declaration in resources(template, ROLE_ASSIGNMENT).values():
        body = config(declaration)
        definition = function(body["properties"]["roleDefinitionId"], "subscription_resource_id")
        assert definition["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        role = _role_id(template, definition["resource_name_1"])
        found.append((accessor(body["scope"]), role, body))
    return found


def _custom_roles() -> dict[str, dict]:
    """Symbol -> the one permission block of each custom role defined in roles.bicep."""
    found = {}
    for name, declaration in resources(parse("modules/roles.bicep"), ROLE_DEFINITION).items():
        props = config(declaration)["properties"]
        assert props["type"] == "CustomRole" and len(props["permissions"]) == 1
        assert [accessor(s) for s in props["assignableScopes"]] != []
        found[name] = props["permissions"][0]
    return found


def _data_actions(permission: dict) -> set[str]:
    """The role's data actions with `${blobData}` / `${tableData}` spelled out."""
    spelled = {"${blobData}": BLOBS, "${tableData}": "Microsoft.Storage/storageAccounts/tableServices/tables"}
    out = set()
    for action in permission["dataActions"]:
        for var, value in spelled.items():
            action = action.replace(var, value)
        out.add(action)
    return out


def test_identities_have_exactly_the_expected_data_roles() -> None:
    found = [
        (body["properties"]["principalId"], scope, role) for scope, role, body in _assignments("modules/roles.bicep")
    ]
    assert len(found) == len(set(found)), "duplicate role assignment"
    assert set(found) == EXPECTED_ROLES


def test_the_backup_identity_cannot_delete_anything_of_the_backup() -> None:
    custom = _custom_roles()
    for _, role, body in _assignments("modules/roles.bicep"):
        if body["properties"]["principalId"] != "principalId" or not role.startswith("custom:"):
            continue
        actions = _data_actions(custom[role.removeprefix("custom:")]) | set(
            custom[role.removeprefix("custom:")]["actions"]
        )
        assert not [a for a in actions if "delete" in a.lower() or "*" in a], (role, actions)
    backup_built_ins = {
        (scope, role)
        for scope, role, body in _assignments("modules/roles.bicep")
        if body["properties"]["principalId"] == "principalId" and not role.startswith("custom:")
    }
    assert not {(s, r) for s, r in backup_built_ins if s.startswith("backupStorage") and r in DELETING_BUILT_INS}
    writer = _data_actions(custom["contentWriterRole"])
    assert writer == {f"{BLOBS}/read", f"{BLOBS}/write", f"{BLOBS}/add/action", SET_POLICY}
    state = _data_actions(custom["stateWriterRole"])
    assert state == {f"{ENTITIES}/read", f"{ENTITIES}/write", f"{ENTITIES}/add/action", f"{ENTITIES}/update/action"}
    assert "Microsoft.Storage/storageAccounts/tableServices/tables/delete" not in custom["stateWriterRole"]["actions"]


def test_only_the_purge_identity_deletes_and_it_cannot_touch_a_policy() -> None:
    remover = _data_actions(_custom_roles()["contentRemoverRole"])
    assert {f"{BLOBS}/delete", f"{BLOBS}/deleteBlobVersion/action"} <= remover
    assert SET_POLICY not in remover and not [a for a in remover if "*" in a or "runAsSuperUser" in a]
    template = parse("modules/roles.bicep")
    tables = template["variables"]["purgeDeleteTables"]["value"]
    assert set(tables) <= set(TABLES) and "audit" not in tables and "restorejobs" not in tables
    assert set(tables) == {"catalog", "restorepoints", "runs", "deltastate", "quarantine"}
    loop = template["resources"]["purgeTables"]["config"]
    assert loop["loop_type"]["detail"] == {"item_name": "suffix", "array_name": "purgeDeleteTables"}
    assert loop["config"]["name"] == "${backupTablePrefix}${suffix}"
    assert accessor(loop["config"]["parent"]) == "backupStorage.tableService"


RESOURCE_GROUP_ID = {"function": {"type": "resource_group", "property_name": "id",
                                    "parameters": {"resource_group_name": None, "subscription_id": None}}}  # fmt: skip


def test_custom_roles_are_assignable_in_this_resource_group_only_with_unique_names() -> None:
    seen = set()
    for declaration in resources(parse("modules/roles.bicep"), ROLE_DEFINITION).values():
        body = config(declaration)
        args = function(body["name"], "guid")
        assert args["base_string"] == RESOURCE_GROUP_ID and args["extra_string_1"] not in seen
        seen.add(args["extra_string_1"])
        # a role name is unique in the tenant: each resource group's roles carry its hash
        assert body["properties"]["roleName"].endswith(" ${uniqueString(resourceGroup().id)}")
        assert body["properties"]["assignableScopes"] == [RESOURCE_GROUP_ID]
        assert body["properties"]["permissions"][0]["notActions"] == []
    assert len(seen) == 3


def test_app_identity_has_no_management_plane_role() -> None:
    for _, role, _ in _assignments("modules/roles.bicep"):
        assert role not in MANAGEMENT_PLANE, MANAGEMENT_PLANE.get(role)


def test_assignments_are_named_guid_of_scope_principal_role() -> None:
    for path in ("modules/roles.bicep", "modules/deployer-access.bicep"):
        template = parse(path)
        for scope, role, body in _assignments(path):
            args = function(body["name"], "guid")
            assert accessor(args["base_string"]) == f"{scope}.id", (path, scope)
            assert args["extra_string_1"] in ("principalId", "purgePrincipalId")
            assert args["extra_string_1"] in template["parameters"]
            assert _role_id(template, args["extra_string_2"]) == role
            assert body["properties"]["principalId"] == args["extra_string_1"]


def test_app_assignments_target_the_service_principal_of_the_identity() -> None:
    for _, _, body in _assignments("modules/roles.bicep"):
        assert body["properties"]["principalType"] == "ServicePrincipal"
    main = parse("main.bicep")
    assert accessor(module_params(main, "roles")["principalId"]) == "identity.outputs.principalId"
    assert accessor(module_params(main, "roles")["purgePrincipalId"]) == "purgeIdentity.outputs.principalId"
    assert module_path(main, "purgeIdentity") == module_path(main, "identity") == "modules/identity.bicep"
    assert (
        config(main["modules"]["purgeIdentity"])["params"]["name"]
        != config(main["modules"]["identity"])["params"]["name"]
    )


def test_role_scopes_are_the_deployed_resources() -> None:
    template = parse("modules/roles.bicep")
    existing = template["resources"]
    assert config(existing["runtimeStorage"])["name"] == "runtimeStorageName"
    assert config(existing["backupStorage"])["name"] == "backupStorageName"
    assert config(existing["vault"])["name"] == "keyVaultName"
    params = module_params(parse("main.bicep"), "roles")
    assert accessor(params["runtimeStorageName"]) == "runtimeStorage.outputs.name"
    assert accessor(params["backupStorageName"]) == "backupStorage.outputs.name"
    assert params["backupContainerName"] == "backupContainerName"


def test_deployer_may_only_manage_the_graph_credential_and_only_when_named() -> None:
    template = parse("modules/deployer-access.bicep")
    chooser = template["variables"]["roleId"]["value"]["operator"]
    assert chooser["type"] == "equals"
    branch = chooser["operands"]["operand_2"]["operator"]["operands"]
    roles = {_role_id(template, branch["true_value"]), _role_id(template, branch["false_value"])}
    assert roles == {KEY_VAULT_CERTIFICATES_OFFICER, KEY_VAULT_SECRETS_OFFICER}
    [(scope, _, _)] = _assignments("modules/deployer-access.bicep")
    assert scope == "vault"
    condition = parse("main.bicep")["modules"]["deployerAccess"]["config"]["condition"]
    assert condition["operator"]["type"] == "not"
    assert function(condition["operator"]["operands"]["bool_value"], "empty")["item_to_test"] == "deployerPrincipalId"
