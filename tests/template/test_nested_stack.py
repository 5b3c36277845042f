"""Contracts between the root stack, the nested web stack (container/template.yaml) and the code
that runs in it: what the root passes and reads, who each security group admits, how the data
stores and the load balancer are protected, and where the projector runs."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from devstack.template import ROOT
from gatepass.settings.projector import ProjectorSettings

pytestmark = pytest.mark.template

ROOT_TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
NESTED_PATH = ROOT / "container" / "template.yaml"
NESTED: dict[str, Any] = yaml_parse(NESTED_PATH.read_text())
RESOURCES: dict[str, Any] = NESTED["Resources"]
APPLICATION = "WebService"


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _outputs_read_by_root() -> set[str]:
    read = set()
    for node in _walk(ROOT_TEMPLATE):
        if isinstance(node, dict) and "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            logical_id, attribute = target if isinstance(target, list) else target.split(".", 1)
            if logical_id == APPLICATION:
                read.add(attribute.removeprefix("Outputs."))
        if isinstance(node, dict) and "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            read.update(re.findall(rf"\$\{{{APPLICATION}\.Outputs\.(\w+)\}}", text))
    return read


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == kind}


def _ref(node: Any) -> str:
    assert isinstance(node, dict), node
    assert set(node) == {"Ref"}, node
    return str(node["Ref"])


def _port(value: Any) -> int | str:
    """A port number, the parameter it refers to (``Ref:ContainerPort``), or the choice it makes
    (``If:HasCertificate:443:80``)."""
    if isinstance(value, dict) and "Fn::If" in value:
        condition, yes, no = value["Fn::If"]
        return f"If:{condition}:{_port(yes)}:{_port(no)}"
    return value if isinstance(value, int) else f"Ref:{_ref(value)}"


def _ingress(group: str) -> set[tuple[str, int | str, int | str]]:
    """(source, from port, to port) of every rule that admits traffic into ``group``."""
    rules = list(RESOURCES[group]["Properties"].get("SecurityGroupIngress", []))
    rules += [
        r["Properties"]
        for r in _of_type("AWS::EC2::SecurityGroupIngress").values()
        if _ref(r["Properties"]["GroupId"]) == group
    ]
    admitted = set()
    for rule in rules:
        if "SourceSecurityGroupId" in rule:
            source = _ref(rule["SourceSecurityGroupId"])
        elif "SourcePrefixListId" in rule:
            source = f"PrefixList:{_ref(rule['SourcePrefixListId'])}"
        else:
            source = rule.get("CidrIp") or rule.get("CidrIpv6") or rule.get("SourcePrefixListId")
        assert rule["IpProtocol"] == "tcp", (group, rule)
        admitted.add((source, _port(rule["FromPort"]), _port(rule["ToPort"])))
    return admitted


CONTAINER_PORT = "Ref:ContainerPort"


# ---------------------------------------------------------------- root <-> nested


def test_the_root_attaches_the_nested_stack_from_the_container_folder() -> None:
    application = ROOT_TEMPLATE["Resources"][APPLICATION]
    assert application["Type"] == "AWS::Serverless::Application"
    assert application["Properties"]["Location"] == "container/template.yaml"


def test_every_parameter_the_root_passes_is_declared_and_every_required_one_is_passed() -> None:
    passed = set(ROOT_TEMPLATE["Resources"][APPLICATION]["Properties"]["Parameters"])
    declared = NESTED["Parameters"]
    required = {name for name, spec in declared.items() if "Default" not in spec}
    assert passed <= set(declared), f"unknown to the nested stack: {sorted(passed - set(declared))}"
    assert required <= passed, f"never passed by the root: {sorted(required - passed)}"


def test_every_output_the_root_reads_is_declared_by_the_nested_stack() -> None:
    read = _outputs_read_by_root()
    assert {"PrivateSubnetIds", "ProjectorSecurityGroupId", "DatabaseSecretArn"} <= read
    assert read <= set(NESTED["Outputs"]), sorted(read - set(NESTED["Outputs"]))


def test_values_the_root_passes_fit_the_nested_allowed_values() -> None:
    passed = ROOT_TEMPLATE["Resources"][APPLICATION]["Properties"]["Parameters"]
    for name, value in passed.items():
        if "Ref" not in value or value["Ref"] not in ROOT_TEMPLATE["Parameters"]:
            continue
        outer = ROOT_TEMPLATE["Parameters"][value["Ref"]]
        inner = NESTED["Parameters"][name]
        if "AllowedValues" in inner:
            assert "AllowedValues" in outer, name
            allowed = {str(v) for v in inner["AllowedValues"]}
            assert {str(v) for v in outer["AllowedValues"]} <= allowed, name
        if "Default" in outer and "AllowedPattern" in inner:
            assert re.fullmatch(inner["AllowedPattern"], str(outer["Default"])), name


def _without_web_branches(node: Any) -> Any:
    """The node as deployed without the web service: !If WithWebService keeps its false branch."""
    if isinstance(node, list):
        return [_without_web_branches(item) for item in node]
    if isinstance(node, dict):
        if set(node) == {"Fn::If"} and node["Fn::If"][0] == "WithWebService":
            return _without_web_branches(node["Fn::If"][2])
        return {key: _without_web_branches(value) for key, value in node.items()}
    return node


def test_the_web_stack_and_projector_deploy_only_when_asked() -> None:
    resources = ROOT_TEMPLATE["Resources"]
    conditional = [
        APPLICATION,
        "ProjectorFunction",
        "ProjectorFunctionLogGroup",
        "ProjectorDeadLetterQueue",
    ]
    for logical_id in conditional:
        assert resources[logical_id].get("Condition") == "WithWebService", logical_id
    # Nothing unconditional may reach into the nested stack, except inside !If WithWebService
    # (a condition that implies it, such as HasDomainAndWebService, will do).
    implies_web = {"WithWebService"} | {
        name
        for name, definition in ROOT_TEMPLATE["Conditions"].items()
        if {"Condition": "WithWebService"} in definition.get("Fn::And", [])
    }
    for logical_id, resource in resources.items():
        if resource.get("Condition") not in implies_web:
            assert APPLICATION not in str(_without_web_branches(resource)), logical_id
    for name, output in ROOT_TEMPLATE["Outputs"].items():
        if APPLICATION in str(output["Value"]):
            assert output.get("Condition") == "WithWebService", name


# ---------------------------------------------------------------- projector


def test_projector_runs_in_the_private_subnets_with_its_own_security_group() -> None:
    props = ROOT_TEMPLATE["Resources"]["ProjectorFunction"]["Properties"]
    subnets = props["VpcConfig"]["SubnetIds"]["Fn::Split"]
    assert subnets[1] == {"Fn::GetAtt": [APPLICATION, "Outputs.PrivateSubnetIds"]}
    assert props["VpcConfig"]["SecurityGroupIds"] == [
        {"Fn::GetAtt": [APPLICATION, "Outputs.ProjectorSecurityGroupId"]}
    ]
    private = NESTED["Outputs"]["PrivateSubnetIds"]["Value"]["Fn::Join"][1]
    assert {_ref(s) for s in private} == {"PrivateSubnetA", "PrivateSubnetB"}
    assert _ref(NESTED["Outputs"]["ProjectorSecurityGroupId"]["Value"]) == "ProjectorSecurityGroup"


def test_projector_environment_names_are_settings_the_code_reads() -> None:
    variables = ROOT_TEMPLATE["Resources"]["ProjectorFunction"]["Properties"]["Environment"][
        "Variables"
    ]
    unknown = {name for name in variables if name.lower() not in ProjectorSettings.model_fields}
    assert not unknown, f"not in gatepass.config.ProjectorSettings: {sorted(unknown)}"
    assert {"DATABASE_HOST", "DATABASE_USER", "REDIS_URL", "REDIS_AUTH_SECRET_ARN"} <= set(
        variables
    )
    # Its own least-privilege role with IAM tokens, never the master user's secret.
    assert variables["DATABASE_USER"] == "gatepass_projector"
    assert variables["DATABASE_IAM_AUTH"] == "true"
    assert "DATABASE_SECRET_ARN" not in variables


def test_projector_reads_only_the_cache_secret_and_connects_as_its_own_database_role() -> None:
    policies = ROOT_TEMPLATE["Resources"]["ProjectorFunction"]["Properties"]["Policies"]
    secrets = [
        p["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]
        for p in policies
        if "AWSSecretsManagerGetSecretValuePolicy" in p
    ]
    assert [s["Fn::GetAtt"][1] for s in secrets] == ["Outputs.RedisAuthSecretArn"]
    [statement] = [s for p in policies if "Statement" in p for s in p["Statement"]]
    assert statement["Action"] == "rds-db:connect"
    template, variables = statement["Resource"]["Fn::Sub"]
    assert template.endswith(":dbuser:${ResourceId}/gatepass_projector")
    assert variables == {"ResourceId": {"Fn::GetAtt": ["WebService", "Outputs.DatabaseResourceId"]}}


def test_the_site_connects_as_its_read_only_role_over_verified_tls() -> None:
    container = _container()
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["DB_USER"] == "gatepass_web"
    assert environment["DB_IAM_AUTH"] == "true"
    assert environment["DB_SSLMODE"] == "verify-full"
    assert environment["PGSSLROOTCERT"] == "/etc/ssl/certs/rds-global-bundle.pem"
    dockerfile = (ROOT / "container" / "Dockerfile").read_text()
    bundle = "layers/gatepass/readmodel/rds-ca-bundle.pem /etc/ssl/certs/rds-global-bundle.pem"
    assert f"COPY --chmod=0644 {bundle}" in dockerfile
    # The master user's credentials reach the migrations only (the entrypoint unsets them).
    secrets = {s["Name"] for s in container["Secrets"]}
    assert {"DB_MIGRATION_USER", "DB_MIGRATION_PASSWORD"} <= secrets
    assert not {"DB_USER", "DB_PASSWORD"} & secrets
    task_role = RESOURCES["WebTaskRole"]["Properties"]["Policies"]
    connect = next(
        p for p in map(_present, task_role) if p["PolicyName"] == "ConnectAsTheSiteDatabaseRole"
    )
    [statement] = connect["PolicyDocument"]["Statement"]
    assert statement["Action"] == "rds-db:connect"
    assert all("gatepass_web" in str(r) for r in statement["Resource"])
    assert RESOURCES["Database"]["Properties"]["EnableIAMDatabaseAuthentication"] is True


@pytest.mark.parametrize("stream", ["TicketingStream", "ActivityStream"])
def test_projector_reports_failures_per_record_and_dead_letters_what_keeps_failing(
    stream: str,
) -> None:
    event = ROOT_TEMPLATE["Resources"]["ProjectorFunction"]["Properties"]["Events"][stream]
    props = event["Properties"]
    assert event["Type"] == "DynamoDB"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 10
    assert props["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["ProjectorDeadLetterQueue", "Arn"]},
    }
    table = props["Stream"]["Fn::GetAtt"][0]
    assert table in {"TicketingTable", "ActivityTable"}


# ---------------------------------------------------------------- network


def test_two_public_and_two_private_subnets_span_two_zones() -> None:
    subnets = _of_type("AWS::EC2::Subnet")
    assert set(subnets) == {"PublicSubnetA", "PublicSubnetB", "PrivateSubnetA", "PrivateSubnetB"}
    zones = {
        name: s["Properties"]["AvailabilityZone"]["Fn::Select"][0] for name, s in subnets.items()
    }
    assert zones["PublicSubnetA"] == zones["PrivateSubnetA"] != zones["PublicSubnetB"]
    assert zones["PublicSubnetB"] == zones["PrivateSubnetB"]
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())


def test_private_subnets_leave_through_nat_and_public_ones_through_the_internet_gateway() -> None:
    routes = {
        _ref(r["Properties"]["RouteTableId"]): r["Properties"]
        for r in _of_type("AWS::EC2::Route").values()
    }
    associations = {
        _ref(a["Properties"]["SubnetId"]): _ref(a["Properties"]["RouteTableId"])
        for a in _of_type("AWS::EC2::SubnetRouteTableAssociation").values()
    }
    for subnet in ("PublicSubnetA", "PublicSubnetB"):
        assert _ref(routes[associations[subnet]]["GatewayId"]) == "InternetGateway"
    for subnet in ("PrivateSubnetA", "PrivateSubnetB"):
        route = routes[associations[subnet]]
        assert "GatewayId" not in route
        assert "NatGateway" in str(route["NatGatewayId"])
    for nat in _of_type("AWS::EC2::NatGateway").values():
        assert _ref(nat["Properties"]["SubnetId"]).startswith("PublicSubnet")


# ---------------------------------------------------------------- security groups

CLOUDFRONT_ONLY = "PrefixList:CloudFrontPrefixListId"
HTTPS_WITH_CERTIFICATE = "If:HasCertificate:443:80"
EXPECTED_INGRESS = {
    # CloudFront's origin-facing servers only, on the one port the listener serves.
    "LoadBalancerSecurityGroup": {
        (CLOUDFRONT_ONLY, HTTPS_WITH_CERTIFICATE, HTTPS_WITH_CERTIFICATE),
    },
    "WebTaskSecurityGroup": {("LoadBalancerSecurityGroup", CONTAINER_PORT, CONTAINER_PORT)},
    "DatabaseSecurityGroup": {
        ("WebTaskSecurityGroup", 5432, 5432),
        ("ProjectorSecurityGroup", 5432, 5432),
        ("BastionSecurityGroup", 5432, 5432),
    },
    "CacheSecurityGroup": {
        ("WebTaskSecurityGroup", 6379, 6379),
        ("ProjectorSecurityGroup", 6379, 6379),
        ("BastionSecurityGroup", 6379, 6379),
    },
    "ProjectorSecurityGroup": set(),
    "BastionSecurityGroup": set(),
    "EndpointSecurityGroup": {
        ("WebTaskSecurityGroup", 443, 443),
        ("ProjectorSecurityGroup", 443, 443),
        ("BastionSecurityGroup", 443, 443),
    },
}


def test_every_security_group_has_a_stated_set_of_sources() -> None:
    assert set(_of_type("AWS::EC2::SecurityGroup")) == set(EXPECTED_INGRESS)


@pytest.mark.parametrize("group", sorted(EXPECTED_INGRESS))
def test_security_group_admits_only_its_named_sources(group: str) -> None:
    assert _ingress(group) == EXPECTED_INGRESS[group]


def test_no_group_is_open_to_the_internet_and_the_load_balancer_admits_only_cloudfront() -> None:
    for group in EXPECTED_INGRESS:
        sources = {source for source, _, _ in _ingress(group)}
        assert not {"0.0.0.0/0", "::/0"} & sources, group
    assert {source for source, _, _ in _ingress("LoadBalancerSecurityGroup")} == {CLOUDFRONT_ONLY}
    # A single rule: the prefix list weighs about 55 of a group's 60 rules.
    assert len(RESOURCES["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"]) == 1
    pattern = NESTED["Parameters"]["CloudFrontPrefixListId"]["AllowedPattern"]
    assert re.fullmatch(pattern, "pl-3b927c52")
    rule = NESTED["Rules"]["LoadBalancerAdmitsCloudFrontOnly"]["Assertions"][0]["Assert"]
    assert rule == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CloudFrontPrefixListId"}, ""]}]}
    assert all(
        "CidrIp" not in r["Properties"] for r in _of_type("AWS::EC2::SecurityGroupIngress").values()
    )


def test_database_and_cache_start_no_connections() -> None:
    for group in ("DatabaseSecurityGroup", "CacheSecurityGroup"):
        egress = RESOURCES[group]["Properties"]["SecurityGroupEgress"]
        assert [rule["CidrIp"] for rule in egress] == ["127.0.0.1/32"], group
        standalone = [
            r
            for r in _of_type("AWS::EC2::SecurityGroupEgress").values()
            if _ref(r["Properties"]["GroupId"]) == group
        ]
        assert not standalone, group


def test_load_balancer_sends_only_to_the_web_tasks() -> None:
    assert "SecurityGroupEgress" not in RESOURCES["LoadBalancerSecurityGroup"]["Properties"]
    egress = [
        r["Properties"]
        for r in _of_type("AWS::EC2::SecurityGroupEgress").values()
        if _ref(r["Properties"]["GroupId"]) == "LoadBalancerSecurityGroup"
    ]
    assert [_ref(r["DestinationSecurityGroupId"]) for r in egress] == ["WebTaskSecurityGroup"]
    assert _port(egress[0]["FromPort"]) == _port(egress[0]["ToPort"]) == CONTAINER_PORT


# ---------------------------------------------------------------- data stores


def test_database_is_private_encrypted_and_its_password_managed_by_secrets_manager() -> None:
    database = RESOURCES["Database"]
    props = database["Properties"]
    assert props["Engine"] == "postgres"
    assert props["StorageEncrypted"] is True
    assert props["PubliclyAccessible"] is False
    assert props["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in props
    # Multi-AZ whenever asked, and always in prod.
    assert props["MultiAZ"] == {"Fn::If": ["IsMultiAzDatabase", True, False]}
    assert NESTED["Conditions"]["IsMultiAzDatabase"] == {
        "Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsMultiAz"}]
    }
    assert props["DBInstanceClass"] == {"Ref": "DatabaseInstanceClass"}
    assert props["DeletionProtection"] == {"Fn::If": ["IsProd", True, False]}
    assert [_ref(g) for g in props["VPCSecurityGroups"]] == ["DatabaseSecurityGroup"]
    subnet_group = RESOURCES[_ref(props["DBSubnetGroupName"])]["Properties"]["SubnetIds"]
    assert {_ref(s) for s in subnet_group} == {"PrivateSubnetA", "PrivateSubnetB"}
    assert database["DeletionPolicy"] == "Snapshot"
    assert NESTED["Outputs"]["DatabaseSecretArn"]["Value"] == {
        "Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]
    }


def test_cache_is_private_encrypted_in_transit_and_at_rest_and_requires_auth() -> None:
    props = RESOURCES["Cache"]["Properties"]
    assert props["AtRestEncryptionEnabled"] is True
    assert props["TransitEncryptionEnabled"] is True
    assert props["AuthToken"] == {"Fn::Sub": "{{resolve:secretsmanager:${CacheAuthTokenSecret}}}"}
    token = RESOURCES["CacheAuthTokenSecret"]["Properties"]["GenerateSecretString"]
    assert token["ExcludePunctuation"] is True
    assert 16 <= token["PasswordLength"] <= 128
    assert [_ref(g) for g in props["SecurityGroupIds"]] == ["CacheSecurityGroup"]
    subnets = RESOURCES[_ref(props["CacheSubnetGroupName"])]["Properties"]["SubnetIds"]
    assert {_ref(s) for s in subnets} == {"PrivateSubnetA", "PrivateSubnetB"}
    assert NESTED["Outputs"]["RedisUrl"]["Value"]["Fn::Sub"].startswith("rediss://")


def test_no_secret_value_is_written_into_the_template() -> None:
    for secret in _of_type("AWS::SecretsManager::Secret").values():
        assert "GenerateSecretString" in secret["Properties"]
        assert "SecretString" not in secret["Properties"]


# ---------------------------------------------------------------- load balancer


def test_load_balancer_is_public_and_drops_invalid_headers() -> None:
    props = RESOURCES["LoadBalancer"]["Properties"]
    assert props["Scheme"] == "internet-facing"
    assert {_ref(s) for s in props["Subnets"]} == {"PublicSubnetA", "PublicSubnetB"}
    attributes = {a["Key"]: a["Value"] for a in props["LoadBalancerAttributes"] if "Key" in a}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


FORBIDDEN = {
    "Type": "fixed-response",
    "FixedResponseConfig": {
        "StatusCode": "403",
        "ContentType": "text/plain",
        "MessageBody": "Forbidden",
    },
}


def test_http_redirects_to_https_when_a_certificate_is_given_and_refuses_otherwise() -> None:
    action = RESOURCES["HttpListener"]["Properties"]["DefaultActions"][0]["Fn::If"]
    condition, with_certificate, without = action
    assert condition == "HasCertificate"
    assert with_certificate["Type"] == "redirect"
    assert with_certificate["RedirectConfig"] == {
        "Protocol": "HTTPS",
        "Port": "443",
        "StatusCode": "HTTP_301",
    }
    assert without == FORBIDDEN
    assert NESTED["Conditions"]["HasCertificate"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]
    }


def test_only_requests_carrying_the_origin_secret_reach_the_web_tasks() -> None:
    assert RESOURCES["HttpsListener"]["Properties"]["DefaultActions"] == [FORBIDDEN]
    forwarding = {
        logical_id: r["Properties"]
        for logical_id, r in _of_type("AWS::ElasticLoadBalancingV2::ListenerRule").items()
        if any(a["Type"] == "forward" for a in r["Properties"]["Actions"])
    }
    assert list(forwarding) == ["FromCloudFrontListenerRule"]
    rule = forwarding["FromCloudFrontListenerRule"]
    assert rule["ListenerArn"] == {
        "Fn::If": ["HasCertificate", {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]
    }
    [condition] = rule["Conditions"]
    assert condition["Field"] == "http-header"
    assert condition["HttpHeaderConfig"]["HttpHeaderName"] == "X-Origin-Verify"
    assert condition["HttpHeaderConfig"]["Values"] == [
        {"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecretArn}:SecretString}}"}
    ]
    # The root stack owns the secret and puts the same value in CloudFront's origin headers.
    passed = ROOT_TEMPLATE["Resources"][APPLICATION]["Properties"]["Parameters"]
    assert passed["OriginVerifySecretArn"] == {"Ref": "OriginVerifySecret"}


def test_https_listener_exists_only_with_a_certificate_and_speaks_modern_tls() -> None:
    https = RESOURCES["HttpsListener"]
    assert https["Condition"] == "HasCertificate"
    props = https["Properties"]
    assert props["Protocol"] == "HTTPS"
    assert props["Port"] == 443
    assert props["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert props["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]


def test_load_balancer_checks_liveness_not_the_stores() -> None:
    # /healthz answers 503 while a store is down: as the target check it would take every task
    # out of service for a cache outage. /livez asks only whether the process serves.
    assert RESOURCES["WebTargetGroup"]["Properties"]["HealthCheckPath"] == "/livez"
    assert RESOURCES["WebTargetGroup"]["Properties"]["TargetType"] == "ip"


# ---------------------------------------------------------------- service


def test_service_runs_in_private_subnets_and_rolls_back_a_failed_deployment() -> None:
    props = RESOURCES["WebFargateService"]["Properties"]
    network = props["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert {_ref(s) for s in network["Subnets"]} == {"PrivateSubnetA", "PrivateSubnetB"}
    assert [_ref(g) for g in network["SecurityGroups"]] == ["WebTaskSecurityGroup"]
    breaker = props["DeploymentConfiguration"]["DeploymentCircuitBreaker"]
    assert breaker == {"Enable": True, "Rollback": True}
    settings = RESOURCES["Cluster"]["Properties"]["ClusterSettings"]
    assert {"Name": "containerInsights", "Value": "enabled"} in settings


def test_service_scales_on_cpu_and_requests() -> None:
    metrics = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]
        for p in _of_type("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}


def _container() -> dict[str, Any]:
    """The web container, with entries present only under a condition (``!If [C, x, NoValue]``)
    listed as present: what a stack with an identity provider gets."""
    containers = RESOURCES["WebTaskDefinition"]["Properties"]["ContainerDefinitions"]
    # The web container, and with WebTracing the collector beside it (only under its condition).
    [web] = [c for c in containers if c.get("Name") == "web"]
    assert [_present(c)["Name"] for c in containers if c is not web] in ([], ["otel-collector"])
    container: dict[str, Any] = dict(web)
    for key in ("Environment", "Secrets"):
        container[key] = [_present(entry) for entry in container[key]]
    return container


def _present(entry: Any) -> Any:
    if isinstance(entry, dict) and "Fn::If" in entry:
        _condition, present, absent = entry["Fn::If"]
        assert absent == {"Ref": "AWS::NoValue"}
        return present
    return entry


def test_secrets_reach_the_container_only_through_secrets_manager() -> None:
    container = _container()
    plain = {e["Name"] for e in container["Environment"]}
    assert not plain & {
        "DB_PASSWORD",
        "DB_MIGRATION_PASSWORD",
        "SECRET_KEY",
        "REDIS_AUTH_TOKEN",
        "REDIS_URL",
    }
    injected = {s["Name"] for s in container["Secrets"]}
    assert {
        "DB_MIGRATION_USER",
        "DB_MIGRATION_PASSWORD",
        "REDIS_AUTH_TOKEN",
        "SECRET_KEY",
        "OIDC_CLIENT_SECRET",
    } == injected


def test_execution_role_may_read_exactly_the_injected_secrets() -> None:
    statements = [
        s
        for p in RESOURCES["WebTaskExecutionRole"]["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
    ]
    assert [s["Action"] for s in statements] == ["secretsmanager:GetSecretValue"]
    allowed = {repr(_present(r)) for r in statements[0]["Resource"]}
    sources = set()
    for secret in _container()["Secrets"]:
        value = secret["ValueFrom"]
        if "Fn::Sub" in value:
            sources.add(repr({"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}))
            assert value["Fn::Sub"].startswith("${Database.MasterUserSecret.SecretArn}:")
        else:
            sources.add(repr(value))
    assert allowed == sources


def test_task_role_presigns_media_reads_only_the_session_public_key_and_connects() -> None:
    statements = {
        p["PolicyName"]: p["PolicyDocument"]["Statement"]
        for p in map(_present, RESOURCES["WebTaskRole"]["Properties"]["Policies"])
    }
    # With WebTracing only, the collector's two X-Ray actions (they take no resource ARN).
    traces = statements.pop("SendTracesToXRay")
    assert traces == [
        {
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        }
    ]
    actions = sorted(s["Action"] for group in statements.values() for s in group)
    # No kms:Sign and no secret: the web can verify a session, never mint one.
    assert actions == ["kms:GetPublicKey", "rds-db:connect", "s3:GetObject"]
    for group in statements.values():
        for statement in group:
            if statement["Action"] == "s3:GetObject":
                assert "${MediaBucketName}/events/*" in statement["Resource"]["Fn::Sub"]
            elif statement["Action"] == "rds-db:connect":
                assert all(str(r).count("/gatepass_web") == 1 for r in statement["Resource"])
            else:
                assert statement["Resource"] == {"Ref": "SessionSigningKeyArn"}


def test_container_variables_are_ones_the_web_service_reads() -> None:
    """Every name the task definition sets is read by the web's config, the entrypoint or the
    gunicorn config; the web's required settings are all provided."""
    readers = "\n".join(
        (ROOT / "container" / name).read_text()
        for name in ("webapp/config.py", "entrypoint.sh", "gunicorn.conf.py")
    )
    container = _container()
    names = {e["Name"] for e in container["Environment"]} | {
        s["Name"] for s in container["Secrets"]
    }
    unread = {name for name in names - {"AWS_REGION"} if name not in readers}
    assert not unread, f"set but never read: {sorted(unread)}"
    # Config.from_env refuses to start without these; REDIS_URL is built by the entrypoint.
    assert {"SECRET_KEY", "API_URL", "DB_HOST", "REDIS_HOST", "REDIS_AUTH_TOKEN"} <= names


def test_web_tasks_are_hardened() -> None:
    props = RESOURCES["WebTaskDefinition"]["Properties"]
    container = _container()
    assert props["RequiresCompatibilities"] == ["FARGATE"]
    assert props["NetworkMode"] == "awsvpc"
    assert container["ReadonlyRootFilesystem"] is True
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "WebLogGroup"}
    assert [_port(m["ContainerPort"]) for m in container["PortMappings"]] == [CONTAINER_PORT]


def test_every_log_group_has_retention() -> None:
    groups = _of_type("AWS::Logs::LogGroup")
    assert groups
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


# ---------------------------------------------------------------- bastion


def test_bastion_is_reached_through_session_manager_only() -> None:
    props = RESOURCES["Bastion"]["Properties"]
    assert "KeyName" not in props
    assert props["InstanceType"] == "t4g.nano"
    assert _ref(props["SubnetId"]).startswith("PrivateSubnet")
    assert [_ref(g) for g in props["SecurityGroupIds"]] == ["BastionSecurityGroup"]
    role = RESOURCES["BastionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}
    ]
    assert "Policies" not in role
    image = NESTED["Parameters"]["BastionImageId"]
    assert image["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert image["Default"].endswith("al2023-ami-kernel-default-arm64")
    template = RESOURCES["BastionLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert template["MetadataOptions"]["HttpTokens"] == "required"
    assert all(d["Ebs"]["Encrypted"] for d in template["BlockDeviceMappings"])


# ---------------------------------------------------------------- build and lint


def test_nested_stack_has_nothing_for_sam_build_to_build() -> None:
    """sam build follows the local Location; plain CloudFormation keeps that step a copy."""
    assert "Transform" not in NESTED
    assert not [r for r in RESOURCES.values() if r["Type"].startswith("AWS::Serverless::")]


def test_cfn_lint_passes_on_the_nested_stack() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--append-rules", "cfn_lint_serverless.rules", "--", str(NESTED_PATH)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
