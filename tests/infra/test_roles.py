"""The app's identity gets exactly the data roles it needs, each on its scope, named guid(scope, principal, role)."""

from __future__ import annotations

from tests.infra.bicep import accessor, config, function, module_params, parse, resources

ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"

# Built-in role definition ids (identical in every Azure cloud).
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
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

# (scope, role id) for every assignment of the Function App's identity.
EXPECTED_APP_ROLES = {
    ("runtimeStorage", STORAGE_BLOB_DATA_OWNER),
    ("runtimeStorage", STORAGE_QUEUE_DATA_CONTRIBUTOR),
    ("runtimeStorage", STORAGE_TABLE_DATA_CONTRIBUTOR),
    ("backupStorage.blobService.container", STORAGE_BLOB_DATA_CONTRIBUTOR),
    ("backupStorage", STORAGE_TABLE_DATA_CONTRIBUTOR),
    ("vault", KEY_VAULT_SECRETS_USER),
    ("applicationInsights", MONITORING_METRICS_PUBLISHER),
}


def _role_id(template: dict, expr) -> str:
    """Resolve `roles.x` / a variable name to the GUID it holds."""
    name = accessor(expr)
    variables = template["variables"]
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


def test_app_identity_has_exactly_the_expected_data_roles() -> None:
    found = _assignments("modules/roles.bicep")
    pairs = [(scope, role) for scope, role, _ in found]
    assert len(pairs) == len(set(pairs)), "duplicate role assignment"
    assert set(pairs) == EXPECTED_APP_ROLES


def test_app_identity_has_no_management_plane_role() -> None:
    for _, role, _ in _assignments("modules/roles.bicep"):
        assert role not in MANAGEMENT_PLANE, MANAGEMENT_PLANE.get(role)


def test_assignments_are_named_guid_of_scope_principal_role() -> None:
    for path in ("modules/roles.bicep", "modules/deployer-access.bicep"):
        template = parse(path)
        for scope, role, body in _assignments(path):
            args = function(body["name"], "guid")
            assert accessor(args["base_string"]) == f"{scope}.id", (path, scope)
            assert args["extra_string_1"] == "principalId"
            assert args["extra_string_1"] in template["parameters"]
            assert _role_id(template, args["extra_string_2"]) == role
            assert body["properties"]["principalId"] == "principalId"


def test_app_assignments_target_the_service_principal_of_the_identity() -> None:
    for _, _, body in _assignments("modules/roles.bicep"):
        assert body["properties"]["principalType"] == "ServicePrincipal"
    main = parse("main.bicep")
    assert accessor(module_params(main, "roles")["principalId"]) == "identity.outputs.principalId"


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
