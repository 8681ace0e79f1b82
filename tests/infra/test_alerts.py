"""The alert rules and the action group (infra/modules/alerts.bicep), read from the parsed Bicep: each rule queries
the event core/telemetry.py sends for it, reads only attributes that event carries, splits by columns its query
makes, and notifies the action group; main.bicep wires the module to Application Insights and the RPO setting."""

from __future__ import annotations

import json
import re

import pytest

from core import telemetry
from tests.infra.bicep import INFRA, accessor, config, decorators, module_params, only, parse
from tests.telemetry_sink import TelemetrySink

ALERTS = "modules/alerts.bicep"
INTERPOLATION = re.compile(r"\$\{(\w+)\}")


def _variables() -> dict:
    return {name: declared["value"] for name, declared in parse(ALERTS)["variables"].items()}


def _text(value: str) -> str:
    """A string variable's value with the module's string variables interpolated (parameters stay ${name})."""
    values = _variables()
    return INTERPOLATION.sub(lambda m: values[m[1]] if isinstance(values.get(m[1]), str) else m[0], value)


def _rules() -> dict[str, dict]:
    rules = {rule["name"]: dict(rule) for rule in _variables()["rules"]}
    for rule in rules.values():
        rule["kql"] = _text(_variables()[rule["query"]])  # `query: runFailedQuery` names a variable
    return rules


def _event_attributes() -> dict[str, set[str]]:
    """Event name -> the attributes core/telemetry.py sends with it (every optional one present)."""
    sink, run = TelemetrySink(), {k: 1 for k in ("resources", "succeeded", "partial", "failed", "skipped", "items")}
    t = sink.telemetry
    t.run_started("r", "schedule")
    t.run_finished({**run, "run_id": "r", "status": "partial", "error": "e", "bytes": 1, "failed_items": 1})
    result = {"resource": "exchange:u", "status": "failed", "items": 1, "bytes": 1, "removed": 1, "failed_items": 1,
              "error": "e", "kind": "user", "suspicious": True}  # fmt: skip
    t.resource_finished("r", result, t.watch(object()), object())
    counts = dict.fromkeys(("resources", "versions", "blobs", "checked", "bytes", "missing", "corrupted"), 1)
    t.verification_finished({**counts, "verification_id": "v", "trigger": "cli", "status": "problems",
                             "sample": 1.0, "unreadable": 1})  # fmt: skip
    return {e["name"]: set(e) - {"name"} for e in sink.events()}


EXPECTED = {  # rule -> (the event it queries, a condition its query must hold)
    "run-failed": (telemetry.RUN_FINISHED, 'status in ("failed", "partial", "interrupted")'),
    "resource-past-rpo": (telemetry.RESOURCE_FINISHED, "ago(${rpoHours}h)"),
    "backup-overdue": (telemetry.RUN_FINISHED, "ago(${rpoHours}h)"),
    "suspicious-point": (telemetry.RESOURCE_FINISHED, 'tostring(customDimensions.suspicious) =~ "true"'),
    "verification-failed": (telemetry.VERIFICATION_FINISHED, 'status != "ok"'),
}


def test_the_event_names_are_core_telemetrys():
    values = _variables()
    assert values["runFinished"] == telemetry.RUN_FINISHED
    assert values["resourceFinished"] == telemetry.RESOURCE_FINISHED
    assert values["verificationFinished"] == telemetry.VERIFICATION_FINISHED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_rule_queries_its_event_and_reads_only_what_the_event_carries(name: str):
    rule = _rules()[name]
    event, condition = EXPECTED[name]
    assert rule["kql"].startswith("customEvents | ") and f'name == "{event}"' in rule["kql"]
    assert condition in rule["kql"]
    read = set(re.findall(r"customDimensions\.(\w+)", rule["kql"]))
    assert read and read <= _event_attributes()[event], f"{name} reads {sorted(read - _event_attributes()[event])}"
    for dimension in rule["dimensions"]:  # a split column must be one the query makes
        assert re.search(rf"\b{dimension}\b", rule["kql"].split("customEvents", 1)[1]), dimension


def test_the_rules_fire_as_intended():
    rules = _rules()
    assert set(rules) == set(EXPECTED)
    overdue = rules.pop("backup-overdue")  # fires on the absence of a usable run: zero rows
    assert (overdue["operator"], overdue["threshold"], overdue["dimensions"]) == ("LessThan", 1, [])
    assert 'in ("succeeded", "partial")' in overdue["kql"]
    for rule in rules.values():
        assert (rule["operator"], rule["threshold"]) == ("GreaterThan", 0) and rule["dimensions"]
    assert "usable == 0 and skipped == 0" in rules["resource-past-rpo"]["kql"]  # a skipped resource has no RPO
    for name in ("resource-past-rpo", "backup-overdue"):  # the RPO's hours reach back further than the window
        assert _rules()[name]["queryTimeRange"] == "P2D" and _rules()[name]["window"] == "PT1H"
    rpo = parse(ALERTS)["parameters"]["rpoHours"]
    assert decorators(rpo)["max_value"] == 48  # two days: as far back as a log search alert looks


def test_every_rule_is_a_log_alert_on_application_insights_that_notifies_the_action_group():
    template = parse(ALERTS)
    [declaration] = [r for r in template["resources"].values() if r["type"] == "Microsoft.Insights/scheduledQueryRules"]
    assert declaration["config"]["loop_type"]["detail"]["array_name"] == "rules"
    body = config(declaration)
    props = body["properties"]
    assert body["kind"] == "LogAlert" and props["enabled"] is True and props["autoMitigate"] is True
    assert props["scopes"] == ["applicationInsightsId"] and "applicationInsightsId" in template["parameters"]
    assert [accessor(a) for a in props["actions"]["actionGroups"]] == ["actionGroup.id"]
    [condition] = props["criteria"]["allOf"]
    assert accessor(condition["query"]) == "rule.query" and condition["timeAggregation"] == "Count"
    assert accessor(props["evaluationFrequency"]) == "rule.frequency" and accessor(props["windowSize"]) == "rule.window"


def test_the_action_group_mails_each_address_and_posts_to_the_secure_webhook():
    template = parse(ALERTS)
    group = only(template, "Microsoft.Insights/actionGroups")
    props = group["properties"]
    assert group["location"] == "Global" and props["enabled"] is True and len(props["groupShortName"]) <= 12
    mails = props["emailReceivers"]
    assert mails["loop_type"]["detail"]["array_name"] == "emailAddresses"
    assert mails["config"]["useCommonAlertSchema"] is True
    hooks = props["webhookReceivers"]
    assert hooks["loop_type"]["detail"]["array_name"] == "webhookUrls"
    assert hooks["config"]["serviceUri"] == "url" and hooks["config"]["useCommonAlertSchema"] is True
    assert "secure" in decorators(template["parameters"]["webhookUrl"])  # a webhook URL often carries a token


def test_main_wires_the_alerts_to_application_insights_and_the_rpo():
    main = parse("main.bicep")
    params = module_params(main, "alerts")
    assert accessor(params["applicationInsightsId"]) == "monitoring.outputs.applicationInsightsId"
    assert params["rpoHours"] == "backupRpoHours" and "backupRpoHours" in main["parameters"]
    assert params["webhookUrl"] == "alertWebhookUrl" and "secure" in decorators(main["parameters"]["alertWebhookUrl"])
    assert "split" in json.dumps(params["emailAddresses"])  # the comma-separated azd value made a list
    assert decorators(main["parameters"]["backupRpoHours"])["max_value"] == 48
    assert main["modules"]["alerts"]["config"]["condition"] == "enableAlerts"
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert values["alertEmailAddresses"]["value"] == "${ALERT_EMAIL_ADDRESSES=}"
    assert values["alertWebhookUrl"]["value"] == "${ALERT_WEBHOOK_URL=}"
