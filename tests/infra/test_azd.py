"""azure.yaml and infra/main.parameters.json agree with main.bicep; every template parses."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.infra.bicep import INFRA, REPO, all_templates, config, decorators, module_path, parse

PARAMETERS_FILE = INFRA / "main.parameters.json"
AZD_ENV_REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*\}$")
PYTHON_TYPES = {"string": str, "int": int, "bool": bool, "object": dict, "array": list}


@pytest.mark.parametrize("path", all_templates(), ids=lambda p: str(p.relative_to(INFRA)))
def test_template_parses_without_func_or_import(path) -> None:
    text = path.read_text()
    # checkov's parser cannot read these; registry modules cannot be resolved offline
    assert not re.search(r"^\s*(func|import)\s", text, re.MULTILINE)
    assert "br/public:" not in text and "br:" not in text
    parse(str(path.relative_to(INFRA)))


def test_every_module_main_uses_exists() -> None:
    main = parse("main.bicep")
    for name in main["modules"]:
        assert (INFRA / module_path(main, name)).is_file(), name


def test_module_calls_pass_exactly_declared_parameters() -> None:
    main = parse("main.bicep")
    for name in main["modules"]:
        module = parse(module_path(main, name))
        declared = module["parameters"]
        passed = config(main["modules"][name])["params"]
        assert set(passed) <= set(declared), f"{name}: unknown parameters {sorted(set(passed) - set(declared))}"
        required = {p for p, d in declared.items() if "default" not in d}
        assert required <= set(passed), f"{name}: missing parameters {sorted(required - set(passed))}"


def test_parameters_file_matches_main_bicep() -> None:
    document = json.loads(PARAMETERS_FILE.read_text())
    assert document["contentVersion"] == "1.0.0.0"
    values = document["parameters"]
    declared = parse("main.bicep")["parameters"]
    unknown = sorted(set(values) - set(declared))
    assert not unknown, f"main.parameters.json sets parameters main.bicep lacks: {unknown}"
    required = {name for name, d in declared.items() if "default" not in d}
    missing = sorted(required - set(values))
    assert not missing, f"main.bicep parameters without a default missing from main.parameters.json: {missing}"
    for name, entry in values.items():
        value = entry["value"]
        spec = declared[name]
        if isinstance(value, str) and AZD_ENV_REFERENCE.match(value):
            assert spec["type"] == "string", f"{name}: azd substitutes strings only, {name} is {spec['type']}"
            continue
        assert type(value) is PYTHON_TYPES[spec["type"]], f"{name}: {value!r} is not {spec['type']}"
        rules = decorators(spec)
        if "allowed" in rules:
            assert value in rules["allowed"], name
        if "min_value" in rules:
            assert value >= rules["min_value"], name
        if "max_value" in rules:
            assert value <= rules["max_value"], name


def test_parameters_file_passes_the_azd_environment() -> None:
    values = json.loads(PARAMETERS_FILE.read_text())["parameters"]
    assert values["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert values["location"]["value"] == "${AZURE_LOCATION}"
    assert values["deployerPrincipalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    assert values["lockImmutabilityPolicy"]["value"] is False


def test_azure_yaml_has_one_python_function_service_bound_to_the_bicep() -> None:
    project = yaml.safe_load((REPO / "azure.yaml").read_text())
    assert project["infra"]["provider"] == "bicep"
    assert (REPO / project["infra"]["path"] / f"{project['infra']['module']}.bicep") == INFRA / "main.bicep"
    services = project["services"]
    assert len(services) == 1
    [(name, service)] = services.items()
    assert service["host"] == "function"
    assert service["language"] in ("python", "py")
    assert (REPO / service["project"]).resolve() == REPO
    # azd finds the app by its azd-service-name tag, which main.bicep sets from `serviceName`
    main = parse("main.bicep")
    assert main["variables"]["serviceName"]["value"] == name
    assert config(main["modules"]["functionApp"])["params"]["serviceName"] == "serviceName"
    app = parse("modules/function-app.bicep")["resources"]["app"]["config"]
    tags = app["tags"]["function"]["parameters"]
    assert tags["arg_2"] == {"'azd-service-name'": "serviceName"}
