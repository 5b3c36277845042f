"""Contracts of the operations sections: alarms, the dashboard, the product's own metrics, audit.

An alarm that names a metric nobody emits, a dashboard widget that names a resource that is not
in the template, or a function without alarms would all deploy without complaint and then stay
silent when something breaks. These tests catch that before a deploy.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from devstack.template import ROOT, TemplateModel

pytestmark = pytest.mark.template

MODEL = TemplateModel()
ROOT_DOC = MODEL.document
RESOURCES = MODEL.resources
NESTED: dict[str, Any] = yaml_parse((ROOT / "container" / "template.yaml").read_text())
OPERATIONS_DOC = (ROOT / "docs" / "operations.md").read_text()
CODE_DIRS = (ROOT / "layers" / "gatepass", ROOT / "functions", ROOT / "container" / "webapp")
PSEUDO = {"AWS::AccountId", "AWS::Region", "AWS::StackName", "AWS::Partition", "AWS::URLSuffix"}


def _alarms(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in document["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}


ROOT_ALARMS = _alarms(ROOT_DOC)
NESTED_ALARMS = _alarms(NESTED)


def _metric_stats(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric an alarm reads: the single metric, or each MetricStat of its math."""
    props = alarm["Properties"]
    if "MetricName" in props:
        return [
            {
                "Namespace": props["Namespace"],
                "MetricName": props["MetricName"],
                "Dimensions": props.get("Dimensions", []),
            }
        ]
    return [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]


def _dimension(metric: dict[str, Any], name: str) -> Any:
    return next((d["Value"] for d in metric["Dimensions"] if d["Name"] == name), None)


def _alarms_on(metric_name: str, dimension: str, value: Any) -> list[str]:
    return [
        logical_id
        for logical_id, alarm in ROOT_ALARMS.items()
        for metric in _metric_stats(alarm)
        if metric["MetricName"] == metric_name and _dimension(metric, dimension) == value
    ]


def _emitted_metric_names() -> set[str]:
    """Metric names the code emits through Powertools (``add_metric(name="...")``)."""
    names: set[str] = set()
    for folder in CODE_DIRS:
        for path in folder.rglob("*.py"):
            names.update(re.findall(r"""add_metric\(\s*name=["'](\w+)["']""", path.read_text()))
    return names


def _filtered_metric_names() -> set[str]:
    return {
        transformation["MetricName"]
        for resource in RESOURCES.values()
        if resource["Type"] == "AWS::Logs::MetricFilter"
        for transformation in resource["Properties"]["MetricTransformations"]
    }


def _is_own_namespace(namespace: Any) -> bool:
    return namespace == {"Fn::Sub": "Gatepass/${AWS::StackName}"} or (
        isinstance(namespace, str) and namespace.startswith("Gatepass/")
    )


# ---------------------------------------------------------------- every alarm pages someone


@pytest.mark.parametrize("logical_id", sorted(ROOT_ALARMS))
def test_every_root_alarm_notifies_the_alarm_topic(logical_id: str) -> None:
    props = ROOT_ALARMS[logical_id]["Properties"]
    assert props.get("AlarmActions") == [{"Ref": "AlarmTopic"}], logical_id
    assert props.get("OKActions") == [{"Ref": "AlarmTopic"}], logical_id


@pytest.mark.parametrize("logical_id", sorted(NESTED_ALARMS))
def test_every_nested_alarm_notifies_the_topic_the_root_passes(logical_id: str) -> None:
    alarm = NESTED_ALARMS[logical_id]
    assert alarm["Properties"].get("AlarmActions") == [{"Ref": "AlarmTopicArn"}], logical_id
    assert alarm["Condition"] in ("HasAlarmTopic", "HasAlarmTopicAndImage")


def test_the_root_passes_its_alarm_topic_to_the_web_stack() -> None:
    passed = RESOURCES["WebService"]["Properties"]["Parameters"]
    assert passed["AlarmTopicArn"] == {"Ref": "AlarmTopic"}
    for name in NESTED["Parameters"]:
        if name.startswith("Alarm") and name != "AlarmTopicArn":
            assert passed[name] == {"Ref": name}, f"{name} is not passed through"
            assert ROOT_DOC["Parameters"][name]["Default"] == NESTED["Parameters"][name]["Default"]


def test_the_alarm_topic_is_encrypted_and_cloudwatch_may_use_its_key() -> None:
    topic = RESOURCES["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    statements = RESOURCES["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in statements)
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


# ---------------------------------------------------------------- per function, per queue


@pytest.mark.parametrize("logical_id", sorted(MODEL.functions))
@pytest.mark.parametrize("metric", ["Errors", "Throttles", "Duration"])
def test_every_function_has_error_throttle_and_duration_alarms(
    logical_id: str, metric: str
) -> None:
    found = _alarms_on(metric, "FunctionName", {"Ref": logical_id})
    assert found, f"{logical_id} has no {metric} alarm"
    condition = MODEL.functions[logical_id].get("Condition")
    for alarm in found:
        assert ROOT_ALARMS[alarm].get("Condition") == condition, alarm


@pytest.mark.parametrize("logical_id", sorted(MODEL.functions))
def test_duration_alarms_measure_against_the_functions_own_timeout(logical_id: str) -> None:
    timeout = MODEL.functions[logical_id]["Properties"].get(
        "Timeout", ROOT_DOC["Globals"]["Function"]["Timeout"]
    )
    (alarm,) = _alarms_on("Duration", "FunctionName", {"Ref": logical_id})
    props = ROOT_ALARMS[alarm]["Properties"]
    expression = next(m["Expression"] for m in props["Metrics"] if "Expression" in m)
    assert expression.endswith(f"/ {int(timeout) * 1000}"), expression
    assert props["Threshold"] == {"Ref": "AlarmFunctionDurationPercentOfTimeout"}


def _get_att_name(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else target.split(".")[0])
    return None


def _dead_letter_queues() -> set[str]:
    """Queues something sends its failures to: on-failure destinations of invoke configs and
    event source mappings, function dead-letter queues, and redrive targets."""
    queues: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "OnFailure" and isinstance(value, dict):
                    name = _get_att_name(value.get("Destination"))
                    if name:
                        queues.add(name)
                elif key == "DeadLetterQueue" and isinstance(value, dict):
                    name = _get_att_name(value.get("TargetArn"))
                    if name:
                        queues.add(name)
                elif key == "deadLetterTargetArn":
                    name = _get_att_name(value)
                    if name:
                        queues.add(name)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(RESOURCES)
    return {q for q in queues if RESOURCES[q]["Type"] == "AWS::SQS::Queue"}


def test_the_dead_letter_queues_are_found() -> None:
    assert {"ProcessImageDeadLetterQueue", "ProjectorDeadLetterQueue"} <= _dead_letter_queues()


@pytest.mark.parametrize("queue", sorted(_dead_letter_queues()))
def test_every_dead_letter_queue_has_a_depth_alarm(queue: str) -> None:
    found = _alarms_on(
        "ApproximateNumberOfMessagesVisible", "QueueName", {"Fn::GetAtt": [queue, "QueueName"]}
    )
    assert found, f"{queue} has no depth alarm"
    for alarm in found:
        assert ROOT_ALARMS[alarm].get("Condition") == RESOURCES[queue].get("Condition")


def test_workflow_tables_stream_and_api_have_their_alarms() -> None:
    assert _alarms_on("ExecutionsFailed", "StateMachineArn", {"Ref": "SubscriptionStateMachine"})
    for table in MODEL.of_type("AWS::DynamoDB::Table"):
        assert _alarms_on("WriteThrottleEvents", "TableName", {"Ref": table}), table
        assert _alarms_on("SystemErrors", "TableName", {"Ref": table}), table
    assert _alarms_on("IteratorAge", "FunctionName", {"Ref": "ProjectorFunction"})
    api = {"Ref": "AWS::StackName"}
    assert _alarms_on("5XXError", "ApiName", api)
    assert _alarms_on("Latency", "ApiName", api)


def test_the_web_stack_alarms_on_site_tasks_database_and_cache() -> None:
    watched = {
        (metric["Namespace"], metric["MetricName"])
        for alarm in NESTED_ALARMS.values()
        for metric in _metric_stats(alarm)
    }
    assert {
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ECS", "MemoryUtilization"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
        ("AWS/ElastiCache", "Evictions"),
    } <= watched


# ---------------------------------------------------------------- the product's own signals


def test_alarms_on_gatepass_metrics_name_metrics_that_exist() -> None:
    """A Gatepass metric is either counted by a metric filter of this template or emitted by the
    code with Powertools (then with the service dimension Powertools adds)."""
    emitted, filtered = _emitted_metric_names(), _filtered_metric_names()
    service = ROOT_DOC["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    checked = 0
    for logical_id, alarm in ROOT_ALARMS.items():
        for metric in _metric_stats(alarm):
            if not _is_own_namespace(metric["Namespace"]):
                continue
            checked += 1
            name = metric["MetricName"]
            if name in filtered:
                assert not metric["Dimensions"], logical_id
            else:
                assert name in emitted, f"{logical_id}: nothing emits {name}"
                assert _dimension(metric, "service") == service, logical_id
    assert checked >= 3


def test_the_powertools_namespace_is_the_one_alarms_and_filters_use() -> None:
    namespace = ROOT_DOC["Globals"]["Function"]["Environment"]["Variables"][
        "POWERTOOLS_METRICS_NAMESPACE"
    ]
    assert _is_own_namespace(namespace)
    for resource in MODEL.of_type("AWS::Logs::MetricFilter").values():
        for transformation in resource["Properties"]["MetricTransformations"]:
            assert transformation["MetricNamespace"] == namespace


def test_metric_filters_read_fields_the_access_log_writes() -> None:
    access_format = json.loads(RESOURCES["GatepassApi"]["Properties"]["AccessLogSetting"]["Format"])
    routes = {route.path for route in MODEL.api_routes()}
    for logical_id, resource in MODEL.of_type("AWS::Logs::MetricFilter").items():
        props = resource["Properties"]
        assert props["LogGroupName"] == {"Ref": "ApiAccessLogGroup"}, logical_id
        pattern = props["FilterPattern"]
        for field in re.findall(r"\$\.(\w+)", pattern):
            assert field in access_format, f"{logical_id} reads {field}, not in the access log"
        for path in re.findall(r'\$\.path = "([^"]+)"', pattern):
            assert path in routes, f"{logical_id} counts {path}, not a route"


# ---------------------------------------------------------------- the dashboard


def _dashboard_parts() -> tuple[str, dict[str, Any]]:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return body[0], body[1]


def _web_widgets_text() -> str:
    _, variables = _dashboard_parts()
    condition, when_true, when_false = variables["WebWidgets"]["Fn::If"]
    assert condition == "WithWebService"
    assert when_false == ""
    return str(when_true["Fn::Sub"])


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"\$\{([^}!]+)\}", text))


def _check_token(token: str, variables: set[str], *, web: bool) -> None:
    if token in PSEUDO or token in ROOT_DOC["Parameters"] or token in variables:
        return
    logical_id, _, attribute = token.partition(".")
    assert logical_id in RESOURCES, f"dashboard names {logical_id}, not in template.yaml"
    condition = RESOURCES[logical_id].get("Condition")
    if condition:
        assert web, f"{token} may not exist without the web service"
        assert condition == "WithWebService", f"{token} may not exist"
    if attribute.startswith("Outputs."):
        assert RESOURCES[logical_id]["Type"] == "AWS::Serverless::Application"
        output = attribute.removeprefix("Outputs.")
        assert output in NESTED["Outputs"], f"the web stack has no output {output}"


def _widgets(text: str) -> list[dict[str, Any]]:
    filled = re.sub(r"\$\{[^}]+\}", "x", text)
    parsed: dict[str, Any] = json.loads(filled)
    return list(parsed["widgets"])


def test_dashboard_widgets_name_resources_that_exist() -> None:
    main, variables = _dashboard_parts()
    for token in _tokens(main):
        _check_token(token, set(variables), web=False)
    for token in _tokens(_web_widgets_text()):
        _check_token(token, set(), web=True)


def test_dashboard_body_is_json_with_and_without_the_web_service() -> None:
    main, _ = _dashboard_parts()
    without = _widgets(main.replace("${WebWidgets}", ""))
    with_web = _widgets(main.replace("${WebWidgets}", _web_widgets_text()))
    assert len(with_web) > len(without) > 5
    for widget in with_web:
        assert widget["type"] in ("metric", "text", "alarm")
        assert widget.get("width", 6) <= 24


def _dashboard_metrics() -> list[list[Any]]:
    main, _ = _dashboard_parts()
    text = main.replace("${WebWidgets}", _web_widgets_text())
    rows: list[list[Any]] = []
    for widget in json.loads(text)["widgets"]:
        rows.extend(widget["properties"].get("metrics", []))
    return rows


def test_dashboard_shows_every_function_and_every_route() -> None:
    text = _dashboard_parts()[0] + _web_widgets_text()
    for logical_id in MODEL.functions:
        assert "${" + logical_id + "}" in text, f"{logical_id} is not on the dashboard"
    shown = {
        (row[row.index("Method") + 1], row[row.index("Resource") + 1])
        for row in _dashboard_metrics()
        if row[0] == "AWS/ApiGateway" and "Resource" in row
    }
    for route in MODEL.api_routes():
        assert (route.method, route.path) in shown, f"{route.method} {route.path} not shown"


def test_dashboard_gatepass_metrics_exist() -> None:
    emitted, filtered = _emitted_metric_names(), _filtered_metric_names()
    own = [row for row in _dashboard_metrics() if str(row[0]).startswith("Gatepass/")]
    assert {"TicketsSold", "TicketsCheckedIn"} <= {row[1] for row in own}
    for row in own:
        assert row[1] in emitted | filtered, f"nothing emits {row[1]}"


def test_dashboard_alarm_widget_lists_alarms_of_this_template() -> None:
    main, _ = _dashboard_parts()
    for token in _tokens(main):
        if token.endswith(".Arn") and token.split(".")[0].endswith("Alarm"):
            assert token.split(".")[0] in ROOT_ALARMS


# ---------------------------------------------------------------- thresholds and the runbook


def _anchors(markdown: str) -> set[str]:
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


@pytest.mark.parametrize(
    ("template", "logical_id"),
    [("root", a) for a in sorted(ROOT_ALARMS)] + [("web", a) for a in sorted(NESTED_ALARMS)],
)
def test_every_alarm_links_to_what_to_do_in_the_operations_guide(
    template: str, logical_id: str
) -> None:
    alarms = ROOT_ALARMS if template == "root" else NESTED_ALARMS
    description = alarms[logical_id]["Properties"]["AlarmDescription"]
    match = re.search(r"docs/operations\.md#([\w-]+)", description)
    assert match, f"{logical_id} does not say where its runbook is"
    assert match.group(1) in _anchors(OPERATIONS_DOC), f"no section #{match.group(1)}"


def test_every_threshold_parameter_is_explained_in_the_operations_guide() -> None:
    names = [n for n in ROOT_DOC["Parameters"] if n.startswith("Alarm")] + [
        "EnableAuditTrail",
        "EnableConfigRecording",
        "AuditRetentionDays",
    ]
    for name in names:
        assert f"`{name}" in OPERATIONS_DOC, f"{name} is not in docs/operations.md"


# ---------------------------------------------------------------- audit


def test_audit_is_off_by_default_and_everything_of_it_is_conditional() -> None:
    params = ROOT_DOC["Parameters"]
    assert params["EnableAuditTrail"]["Default"] == "false"
    assert params["EnableConfigRecording"]["Default"] == "false"
    audit_types = {
        "AWS::CloudTrail::Trail",
        "AWS::Config::ConfigurationRecorder",
        "AWS::Config::DeliveryChannel",
        "AWS::Config::ConfigRule",
    }
    for logical_id, resource in RESOURCES.items():
        if resource["Type"] in audit_types:
            assert resource.get("Condition") in ("WithAuditTrail", "WithConfigRecording"), (
                logical_id
            )


def test_the_trail_records_management_events_and_ticket_image_data_events() -> None:
    trail = RESOURCES["AuditTrail"]["Properties"]
    assert trail["IsMultiRegionTrail"] is True
    assert trail["EnableLogFileValidation"] is True
    (selector,) = trail["EventSelectors"]
    assert selector["IncludeManagementEvents"] is True
    (data,) = selector["DataResources"]
    assert data == {
        "Type": "AWS::S3::Object",
        "Values": [{"Fn::Sub": "${TicketsBucket.Arn}/"}],
    }


def test_config_rules_check_what_the_templates_promise() -> None:
    rules = {
        r["Properties"]["Source"]["SourceIdentifier"]
        for r in MODEL.of_type("AWS::Config::ConfigRule").values()
    }
    assert {
        "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
        "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "DYNAMODB_PITR_ENABLED",
        "RDS_STORAGE_ENCRYPTED",
        "DB_INSTANCE_BACKUP_ENABLED",
        "ELASTICACHE_REPL_GRP_ENCRYPTED_IN_TRANSIT",
        "CLOUDWATCH_ALARM_ACTION_CHECK",
    } <= rules
    recorded = set(RESOURCES["ConfigRecorder"]["Properties"]["RecordingGroup"]["ResourceTypes"])
    assert {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::CloudWatch::Alarm"} <= recorded


# ---------------------------------------------------------------- tracing


def test_requests_are_traced_by_lambda_api_gateway_and_step_functions_themselves() -> None:
    assert ROOT_DOC["Globals"]["Function"]["Tracing"] == "Active"
    assert RESOURCES["GatepassApi"]["Properties"]["TracingEnabled"] is True
    assert RESOURCES["SubscriptionStateMachine"]["Properties"]["Tracing"] == {"Enabled": True}


def test_opentelemetry_is_an_optional_layer_with_its_wrapper() -> None:
    function_globals = ROOT_DOC["Globals"]["Function"]
    assert {
        "Fn::If": ["HasOpenTelemetry", {"Ref": "OpenTelemetryLayerArn"}, {"Ref": "AWS::NoValue"}]
    } in function_globals["Layers"]
    wrapper = function_globals["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"]
    assert wrapper == {
        "Fn::If": ["HasOpenTelemetry", "/opt/otel-instrument", {"Ref": "AWS::NoValue"}]
    }
    assert ROOT_DOC["Parameters"]["OpenTelemetryLayerArn"]["Default"] == ""
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in MODEL.function_env("CheckInFunction")


@pytest.mark.parametrize(
    "package",
    [
        # It loads every resolver and event class at a cold start (decision 0079).
        "aws_lambda_powertools.event_handler",
        # It loads every event class and asyncio at a cold start (decision 0082).
        "aws_lambda_powertools.utilities.batch",
        # Its package's __init__ loads every event class it has (decision 0082).
        "aws_lambda_powertools.utilities.data_classes",
    ],
)
def test_no_function_imports_powertools_packages_that_load_every_event_class(
    package: str,
) -> None:
    for path in [
        *(ROOT / "layers" / "gatepass").rglob("*.py"),
        *(ROOT / "functions").rglob("*.py"),
    ]:
        assert package not in path.read_text(), path


def test_no_function_ships_the_xray_sdk() -> None:
    pinned = (ROOT / "layers" / "requirements.txt").read_text()
    assert "aws-xray-sdk" not in pinned
    for logical_id in MODEL.functions:
        requirements = (MODEL.function_dir(logical_id) / "requirements.txt").read_text()
        assert "aws-xray-sdk" not in requirements, logical_id
    for path in [
        *(ROOT / "layers" / "gatepass").rglob("*.py"),
        *(ROOT / "functions").rglob("*.py"),
    ]:
        text = path.read_text()
        assert "aws_xray_sdk" not in text, path
        # Powertools' Tracer is the X-Ray SDK's; gatepass.observability has its own.
        assert "from aws_lambda_powertools import Logger, Metrics, Tracer" not in text, path
        assert "aws_lambda_powertools.tracing" not in text, path
