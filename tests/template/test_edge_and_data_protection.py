"""Contracts of issue 14: what stands between the internet and Gatepass (CloudFront, AWS WAF, the
load balancer's one source), the per-route limits, TLS in prod, and which data is backed up.

The stacks' Rules are evaluated here in Python, as CloudFormation would before a deploy: no AWS
account is needed to prove that a prod stack without TLS is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from devstack.template import ROOT, TemplateModel
from tests.support.rules import RuleEvaluator

pytestmark = pytest.mark.template

MODEL = TemplateModel()
ROOT_DOC: dict[str, Any] = MODEL.document
NESTED: dict[str, Any] = yaml_parse((ROOT / "container" / "template.yaml").read_text())
EDGE: dict[str, Any] = yaml_parse((ROOT / "edge" / "template.yaml").read_text())
TEMPLATES = {
    str(path.relative_to(ROOT)): yaml_parse(path.read_text())
    for path in (ROOT / "template.yaml", *sorted(ROOT.glob("*/template.yaml")))
}


# ---------------------------------------------------------------- the stacks' Rules


def _root_failures(region: str = "eu-west-1", **values: Any) -> list[str]:
    return RuleEvaluator(ROOT_DOC, values, region).failures()


CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/gatepass/0f1e2d3c-4b5a"
PREFIX_LIST = "pl-4fa04526"
PROD_WITH_TLS = {
    "Stage": "prod",
    "DomainName": "tickets.example.org",
    "HostedZoneId": "Z0123456789ABCDEFGHIJ",
    "EdgeCertificateArn": CERTIFICATE,
    "EdgeWebAclArn": WEB_ACL,
    "WebCloudFrontPrefixListId": PREFIX_LIST,
}


def test_prod_without_a_certificate_is_refused_by_the_rules() -> None:
    failures = _root_failures(Stage="prod", WebCloudFrontPrefixListId=PREFIX_LIST)
    assert any(f.startswith("ProdNeedsTls:") for f in failures), failures


@pytest.mark.parametrize(
    "missing", ["DomainName", "HostedZoneId", "EdgeCertificateArn", "EdgeWebAclArn"]
)
def test_prod_refuses_each_missing_piece_of_tls_and_the_web_acl(missing: str) -> None:
    values = {**PROD_WITH_TLS, missing: ""}
    assert any(f.startswith("ProdNeedsTls:") for f in _root_failures(**values))


def test_prod_with_domain_certificate_and_web_acl_passes_the_rules() -> None:
    assert _root_failures(**PROD_WITH_TLS) == []


def test_dev_passes_without_a_domain_and_without_the_web_service() -> None:
    assert _root_failures(DeployWebService="false") == []
    assert _root_failures(WebCloudFrontPrefixListId=PREFIX_LIST) == []


def test_a_domain_needs_its_zone_and_a_us_east_1_certificate() -> None:
    failures = _root_failures(
        DomainName="tickets.example.org", WebCloudFrontPrefixListId=PREFIX_LIST
    )
    assert any(f.startswith("DomainNeedsZoneAndCertificate:") for f in failures), failures
    pattern = ROOT_DOC["Parameters"]["EdgeCertificateArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, CERTIFICATE)
    assert not re.fullmatch(pattern, CERTIFICATE.replace("us-east-1", "eu-west-1"))


def test_a_load_balancer_certificate_without_the_domain_is_refused() -> None:
    # CloudFront would dial the load balancer's own name, which no such certificate names.
    failures = _root_failures(
        WebCloudFrontPrefixListId=PREFIX_LIST,
        WebCertificateArn=CERTIFICATE.replace("us-east-1", "eu-west-1"),
    )
    assert any(f.startswith("LoadBalancerCertificateNeedsDomain:") for f in failures), failures
    passed = ROOT_DOC["Resources"]["WebService"]["Properties"]["Parameters"]
    assert passed["CertificateArn"]["Fn::If"][0] == "HasDomain"
    assert passed["CertificateArn"]["Fn::If"][2] == ""


def test_the_web_service_needs_the_cloudfront_prefix_list_and_nat() -> None:
    assert any(f.startswith("WebNeedsCloudFrontPrefixList:") for f in _root_failures())
    no_nat = _root_failures(WebCloudFrontPrefixListId=PREFIX_LIST, WebNatGateways=0)
    assert any("public regional" in f for f in no_nat), no_nat
    assert _root_failures(DeployWebService="false", WebNatGateways=0) == []


def test_the_edge_stack_deploys_only_in_us_east_1() -> None:
    assert RuleEvaluator(EDGE, {}, "us-east-1").failures() == []
    assert RuleEvaluator(EDGE, {}, "eu-west-1").failures()


# ---------------------------------------------------------------- AWS WAF


def _statements(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _statements(value)


def _matches(statement: Mapping[str, Any], path: str, through_cloudfront: bool) -> bool:
    """Whether a request for ``path`` matches a WAF statement built from the kinds used here."""
    ((kind, body),) = statement.items()
    if kind == "AndStatement":
        return all(_matches(s, path, through_cloudfront) for s in body["Statements"])
    if kind == "OrStatement":
        return any(_matches(s, path, through_cloudfront) for s in body["Statements"])
    if kind == "NotStatement":
        return not _matches(body["Statement"], path, through_cloudfront)
    if kind == "ByteMatchStatement":
        field = body["FieldToMatch"]
        if "SingleHeader" in field:
            assert field["SingleHeader"]["Name"] == "x-origin-verify"
            return through_cloudfront
        assert "UriPath" in field, field
        target = path.lower() if body["TextTransformations"][0]["Type"] == "LOWERCASE" else path
        text = body["SearchString"]
        return {
            "ENDS_WITH": target.endswith,
            "STARTS_WITH": target.startswith,
            "EXACTLY": target.__eq__,
            "CONTAINS": target.__contains__,
        }[body["PositionalConstraint"]](text)
    if kind == "SizeConstraintStatement":
        return True
    raise AssertionError(f"statement kind not modelled here: {kind}")


def _acl(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    resource = template["Resources"][logical_id]
    assert resource["Type"] == "AWS::WAFv2::WebACL"
    return dict(resource["Properties"])


def _rate_rules(acl: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Name"]: r["Statement"]["RateBasedStatement"]
        for r in acl["Rules"]
        if "RateBasedStatement" in r["Statement"]
    }


def _covering(acl: Mapping[str, Any], path: str, through_cloudfront: bool = False) -> set[str]:
    """Names of the rate-based rules that count a request for ``path``."""
    return {
        name
        for name, rule in _rate_rules(acl).items()
        if "ScopeDownStatement" not in rule
        or _matches(rule["ScopeDownStatement"], path, through_cloudfront)
    }


def _api_paths() -> list[str]:
    return sorted({re.sub(r"\{[^}]+\}", "e-123", r.path) for r in MODEL.api_routes()})


API_ACL = _acl(ROOT_DOC, "ApiWebAcl")
EDGE_ACL = _acl(EDGE, "EdgeWebAcl")
# Where sign-in, sign-up, tickets and check-in happen; the dedicated rules must name them all.
SENSITIVE_API_PATHS = {
    "/subscribe": "RateSignIn",
    "/send-otp": "RateSignIn",
    "/verify-otp": "RateSignIn",
    "/verify-link": "RateSignIn",
    "/create-ticket": "RateTickets",
    "/get-qr-code": "RateTickets",
    "/check-in": "RateCheckIn",
}
SENSITIVE_SITE_PATHS = {
    "/signin": "RateSignIn",
    "/signin/code": "RateSignIn",
    "/signin/link": "RateSignIn",
    "/signup": "RateSignIn",
    "/events/e-123/tickets": "RateTickets",
    "/events/e-123/check-in": "RateCheckIn",
}


def test_both_web_acls_use_the_aws_managed_rule_groups() -> None:
    wanted = {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    for acl in (API_ACL, EDGE_ACL):
        groups = {
            r["Statement"]["ManagedRuleGroupStatement"]["Name"]
            for r in acl["Rules"]
            if "ManagedRuleGroupStatement" in r["Statement"]
        }
        assert groups == wanted
    assert API_ACL["Scope"] == "REGIONAL"
    assert EDGE_ACL["Scope"] == "CLOUDFRONT"


@pytest.mark.parametrize("path", _api_paths())
def test_every_api_route_is_counted_per_client_address_at_the_edge_and_at_the_stage(
    path: str,
) -> None:
    stage_path = "/dev" + path
    assert _covering(API_ACL, stage_path), f"{stage_path} has no rate-based rule at the stage"
    assert _covering(EDGE_ACL, path), f"{path} has no rate-based rule at CloudFront"
    for rule in [*_rate_rules(API_ACL).values(), *_rate_rules(EDGE_ACL).values()]:
        assert rule["AggregateKeyType"] == "IP"


@pytest.mark.parametrize(("path", "rule"), sorted(SENSITIVE_API_PATHS.items()))
def test_sign_in_ticket_and_check_in_routes_have_their_own_tighter_limit(
    path: str, rule: str
) -> None:
    assert path in _api_paths()
    assert rule in _covering(API_ACL, "/prod" + path)
    assert rule in _covering(EDGE_ACL, path)
    limits = {name: r["Limit"]["Ref"] for name, r in _rate_rules(EDGE_ACL).items()}
    defaults = {name: int(EDGE["Parameters"][ref]["Default"]) for name, ref in limits.items()}
    assert defaults[rule] < defaults["RateEveryRoute"]


@pytest.mark.parametrize(("path", "rule"), sorted(SENSITIVE_SITE_PATHS.items()))
def test_the_sites_sign_in_ticket_and_check_in_pages_are_limited_at_the_edge(
    path: str, rule: str
) -> None:
    route = re.sub(r"e-123", "<event_id>", path)
    views = "".join(p.read_text() for p in (ROOT / "container" / "webapp" / "views").glob("*.py"))
    assert f'"{route}"' in views, f"the site has no {route} route any more"
    assert rule in _covering(EDGE_ACL, path)


def test_requests_through_cloudfront_are_not_counted_twice_at_the_stage() -> None:
    # CloudFront already counted them by the viewer's address; at the stage they would all
    # share CloudFront's few addresses.
    for path in _api_paths():
        assert not _covering(API_ACL, "/dev" + path, through_cloudfront=True), path


def test_bodies_are_limited_to_what_each_json_route_accepts() -> None:
    size_rules = [
        r for r in API_ACL["Rules"] if any("SizeConstraintStatement" in s for s in _statements(r))
    ]
    for route in MODEL.api_routes():
        if route.method != "post":
            continue
        limited = [
            r
            for r in size_rules
            if _matches(r["Statement"]["AndStatement"]["Statements"][0], "/dev" + route.path, False)
        ]
        if route.path == "/create-event":
            # Inline images (5 MB as base64): capped by API Gateway's 10 MB and the function.
            assert not limited
            continue
        assert limited, route.path
        for rule in limited:
            size = next(s for s in _statements(rule) if "SizeConstraintStatement" in s)
            assert size["SizeConstraintStatement"]["Size"] <= 8192  # inspectable by a regional ACL
    common = next(r for r in API_ACL["Rules"] if r["Name"] == "AWSManagedRulesCommonRuleSet")
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}} in overrides


def test_the_stage_and_both_distributions_are_behind_a_web_acl() -> None:
    resources = ROOT_DOC["Resources"]
    association = resources["ApiWebAclAssociation"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    assert "${GatepassApi.Stage}" in association["ResourceArn"]["Fn::Sub"]
    for distribution in ("SiteDistribution", "ApiDistribution"):
        config = resources[distribution]["Properties"]["DistributionConfig"]
        assert config["WebACLId"] == {
            "Fn::If": ["HasEdgeWebAcl", {"Ref": "EdgeWebAclArn"}, {"Ref": "AWS::NoValue"}]
        }


# ---------------------------------------------------------------- CloudFront


def _distribution(name: str) -> dict[str, Any]:
    return dict(ROOT_DOC["Resources"][name]["Properties"]["DistributionConfig"])


def test_viewers_use_https_with_hsts_and_a_modern_policy() -> None:
    for name in ("SiteDistribution", "ApiDistribution"):
        config = _distribution(name)
        behaviours = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
        assert {b["ViewerProtocolPolicy"] for b in behaviours} == {"redirect-to-https"}
        assert {b["ResponseHeadersPolicyId"]["Ref"] for b in behaviours} == {
            "SecurityHeadersPolicy"
        }
        condition, with_certificate, _ = config["ViewerCertificate"]["Fn::If"]
        assert condition == "HasEdgeCertificate"
        assert with_certificate["MinimumProtocolVersion"] == "TLSv1.2_2021"
        assert config["Logging"]["Bucket"] == {
            "Fn::GetAtt": ["AccessLogBucket", "RegionalDomainName"]
        }
    headers = ROOT_DOC["Resources"]["SecurityHeadersPolicy"]["Properties"]
    hsts = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"][
        "StrictTransportSecurity"
    ]
    assert hsts["AccessControlMaxAgeSec"] >= 31536000


def test_every_origin_request_carries_the_origin_secret() -> None:
    secret = {"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString}}"}
    for name in ("SiteDistribution", "ApiDistribution"):
        for origin in _distribution(name)["Origins"]:
            if "CustomOriginConfig" in origin:
                assert origin["OriginCustomHeaders"] == [
                    {"HeaderName": "X-Origin-Verify", "HeaderValue": secret}
                ], (name, origin["Id"])
    assert "GenerateSecretString" in ROOT_DOC["Resources"]["OriginVerifySecret"]["Properties"]


def test_images_come_from_the_media_bucket_through_origin_access_control_and_are_cached() -> None:
    config = _distribution("SiteDistribution")
    media = next(o for o in config["Origins"] if o["Id"] == "media")
    assert media["OriginAccessControlId"] == {"Fn::GetAtt": ["MediaOriginAccessControl", "Id"]}
    behaviour = next(b for b in config["CacheBehaviors"] if b["TargetOriginId"] == "media")
    assert behaviour["PathPattern"] == "/media/*"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert behaviour["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"  # CachingOptimized
    statements = ROOT_DOC["Resources"]["MediaBucketPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    [guarded] = [s["Fn::If"] for s in statements if "Fn::If" in s]
    condition, allow, _ = guarded
    assert condition == "WithWebService"
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert "${SiteDistribution}" in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]


def test_the_api_distribution_forwards_to_the_stage_over_https_without_caching() -> None:
    config = _distribution("ApiDistribution")
    [origin] = config["Origins"]
    assert origin["OriginPath"] == {"Fn::Sub": "/${Stage}"}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def test_the_domain_gets_alias_records_and_a_validated_origin_certificate() -> None:
    resources = ROOT_DOC["Resources"]
    names = {
        (str(r["Name"]), r["Type"])
        for group in ("ApiDnsRecords", "SiteDnsRecords")
        for r in resources[group]["Properties"]["RecordSets"]
    }
    assert ("{'Fn::Sub': 'api.${DomainName}'}", "A") in names
    assert ("{'Ref': 'DomainName'}", "AAAA") in names
    certificate = resources["OriginCertificate"]["Properties"]
    assert certificate["ValidationMethod"] == "DNS"
    assert EDGE["Resources"]["EdgeCertificate"]["Properties"]["ValidationMethod"] == "DNS"


# ---------------------------------------------------------------- per-route limits at the API


PUBLIC_FUNCTIONS = {
    "SubscribeFunction": "SignInReservedConcurrency",
    "SendOtpFunction": "SignInReservedConcurrency",
    "VerifyOtpFunction": "SignInReservedConcurrency",
    "VerifyIdTokenFunction": "SignInReservedConcurrency",
    "CreateEventFunction": "PublicReservedConcurrency",
    "EventsReadFunction": "PublicReservedConcurrency",
    "CreateTicketFunction": "PublicReservedConcurrency",
    "GetQrCodeFunction": "PublicReservedConcurrency",
    "AppleWalletPassFunction": "PublicReservedConcurrency",
    "GoogleWalletLinkFunction": "PublicReservedConcurrency",
    "LogActivityFunction": "PublicReservedConcurrency",
    "CheckInFunction": "CheckInReservedConcurrency",
    "AddTicketTypeFunction": "PublicReservedConcurrency",
    "UpdateTicketTypeFunction": "PublicReservedConcurrency",
    "CancelTicketFunction": "PublicReservedConcurrency",
    "CancelEventFunction": "PublicReservedConcurrency",
    "EventRevocationsFunction": "PublicReservedConcurrency",
    "TransferTicketFunction": "PublicReservedConcurrency",
    "DoorFunction": "PublicReservedConcurrency",
    "ScannerBundleFunction": "PublicReservedConcurrency",
    "SessionsFunction": "SignInReservedConcurrency",
    "RotateEventKeyFunction": "PublicReservedConcurrency",
    "ReissueTicketFunction": "PublicReservedConcurrency",
    "WaitlistPlacesFunction": "PublicReservedConcurrency",
    "OffersFunction": "PublicReservedConcurrency",
    "QueueFunction": "PublicReservedConcurrency",
}


def test_every_api_function_reserves_concurrency_from_a_parameter() -> None:
    routed = {r.function for r in MODEL.api_routes()}
    assert routed == set(PUBLIC_FUNCTIONS)
    for function, parameter in PUBLIC_FUNCTIONS.items():
        reserved = MODEL.functions[function]["Properties"]["ReservedConcurrentExecutions"]
        condition, value, otherwise = reserved["Fn::If"]
        assert value == {"Ref": parameter}
        assert otherwise == {"Ref": "AWS::NoValue"}
        assert ROOT_DOC["Conditions"][condition] == {
            "Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]
        }


def test_sign_in_ticket_and_check_in_routes_have_their_own_throttles() -> None:
    settings = ROOT_DOC["Resources"]["GatepassApi"]["Properties"]["MethodSettings"]
    by_path = {s["ResourcePath"]: s for s in settings}
    expected = {
        "/~1subscribe": "SignIn",
        "/~1send-otp": "SignIn",
        "/~1verify-otp": "SignIn",
        "/~1verify-id-token": "SignIn",
        "/~1create-ticket": "Ticket",
        "/~1get-qr-code": "Ticket",
        "/~1check-in": "CheckIn",
        "/~1sync-scans": "CheckIn",
    }
    for path, prefix in expected.items():
        assert by_path[path]["ThrottlingRateLimit"] == {"Ref": f"{prefix}ThrottleRate"}
        assert by_path[path]["ThrottlingBurstLimit"] == {"Ref": f"{prefix}ThrottleBurst"}
        route = path.replace("~1", "/").replace("//", "/")
        assert route in {r.path for r in MODEL.api_routes()}
    assert "/*" in by_path  # the stage-wide default still covers the rest


# ---------------------------------------------------------------- data protection


def _backed_up() -> set[str]:
    selected = set()
    for selection in MODEL.of_type("AWS::Backup::BackupSelection").values():
        for resource in selection["Properties"]["BackupSelection"]["Resources"]:
            logical_id, attribute = resource["Fn::GetAtt"]
            selected.add(logical_id if attribute == "Arn" else f"{logical_id}.{attribute}")
    return selected


@pytest.mark.parametrize(
    "logical_id",
    sorted({*MODEL.of_type("AWS::S3::Bucket"), *MODEL.of_type("AWS::DynamoDB::Table")}),
)
def test_every_bucket_and_table_is_backed_up_or_says_why_not(logical_id: str) -> None:
    reason = MODEL.resources[logical_id].get("Metadata", {}).get("Backup", {}).get("Excluded", "")
    if logical_id in _backed_up():
        assert not reason, f"{logical_id} is backed up and also says it is not"
    else:
        assert len(reason) > 20, f"{logical_id} is in no backup plan and gives no reason"


def test_the_system_of_record_and_the_web_database_are_backed_up_daily() -> None:
    assert {"TicketingTable", "IdentityTable", "ActivityTable", "MediaBucket"} <= _backed_up()
    assert "WebService.Outputs.DatabaseArn" in _backed_up()
    assert "Database" in NESTED["Outputs"]["DatabaseArn"]["Value"]["Fn::Sub"]
    [rule] = ROOT_DOC["Resources"]["BackupPlan"]["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["Lifecycle"] == {"DeleteAfterDays": {"Ref": "BackupRetentionDays"}}
    assert rule["TargetBackupVault"] == {"Ref": "BackupVault"}


def test_the_customer_managed_key_reaches_every_store_when_chosen() -> None:
    key = {"Fn::If": ["UseCustomerManagedKey", {"Ref": "DataKey"}, {"Ref": "AWS::NoValue"}]}
    key_arn = {
        "Fn::If": [
            "UseCustomerManagedKey",
            {"Fn::GetAtt": ["DataKey", "Arn"]},
            {"Ref": "AWS::NoValue"},
        ]
    }
    for table in MODEL.of_type("AWS::DynamoDB::Table").values():
        assert table["Properties"]["SSESpecification"]["KMSMasterKeyId"] == key
    for queue in MODEL.of_type("AWS::SQS::Queue").values():
        assert queue["Properties"]["KmsMasterKeyId"] == key
    for secret in MODEL.of_type("AWS::SecretsManager::Secret").values():
        assert secret["Properties"]["KmsKeyId"] == key
    for group in MODEL.of_type("AWS::Logs::LogGroup").values():
        assert group["Properties"]["KmsKeyId"] == key_arn
    for logical_id, bucket in MODEL.of_type("AWS::S3::Bucket").items():
        if logical_id in ("AccessLogBucket", "AuditLogBucket"):
            # Load balancers write SSE-S3 only; CloudTrail and Config write as service
            # principals, which the key's through-a-service grant does not cover.
            continue
        default = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert default["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key_arn
    passed = ROOT_DOC["Resources"]["WebService"]["Properties"]["Parameters"]
    assert passed["DataKeyArn"] == {
        "Fn::If": ["UseCustomerManagedKey", {"Fn::GetAtt": ["DataKey", "Arn"]}, ""]
    }
    nested_key = {"Fn::If": ["HasDataKey", {"Ref": "DataKeyArn"}, {"Ref": "AWS::NoValue"}]}
    nested = NESTED["Resources"]
    assert nested["Database"]["Properties"]["KmsKeyId"] == nested_key
    assert nested["Cache"]["Properties"]["KmsKeyId"] == nested_key
    assert nested["WebLogGroup"]["Properties"]["KmsKeyId"] == nested_key


def test_buckets_the_load_balancer_and_cloudfront_write_access_logs() -> None:
    for logical_id, bucket in MODEL.of_type("AWS::S3::Bucket").items():
        if logical_id != "AccessLogBucket":
            logging = bucket["Properties"]["LoggingConfiguration"]
            assert logging["DestinationBucketName"] == {"Ref": "AccessLogBucket"}, logical_id
    passed = ROOT_DOC["Resources"]["WebService"]["Properties"]["Parameters"]
    assert passed["LoadBalancerAccessLogBucket"] == {"Ref": "AccessLogBucket"}
    rules = ROOT_DOC["Resources"]["AccessLogBucket"]["Properties"]["LifecycleConfiguration"][
        "Rules"
    ]
    assert any(r.get("ExpirationInDays") == {"Ref": "LogRetentionDays"} for r in rules)


# ---------------------------------------------------------------- private network paths


def test_the_tasks_reach_aws_through_endpoints_with_policies() -> None:
    services = {
        r["Properties"]["ServiceName"]["Fn::Sub"].split("${AWS::Region}.", 1)[1]: r["Properties"]
        for r in NESTED["Resources"].values()
        if r["Type"] == "AWS::EC2::VPCEndpoint"
    }
    assert {"s3", "dynamodb"} <= {
        s for s, p in services.items() if p["VpcEndpointType"] == "Gateway"
    }
    interface = {s for s, p in services.items() if p["VpcEndpointType"] == "Interface"}
    assert {
        "ecr.api",
        "ecr.dkr",
        "logs",
        "secretsmanager",
        "ssm",
        "ssmmessages",
        "ec2messages",
        "sts",
        "kms",
    } <= interface
    for service, props in services.items():
        assert props["PolicyDocument"]["Statement"], service
        for statement in props["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert all(a != "*" and not a.endswith(":*") for a in actions), service
        if props["VpcEndpointType"] == "Interface":
            assert props["PrivateDnsEnabled"] is True
            assert props["SecurityGroupIds"] == [{"Ref": "EndpointSecurityGroup"}]


def test_nat_is_optional_and_its_routes_exist_only_with_it() -> None:
    assert NESTED["Parameters"]["NatGateways"]["AllowedValues"] == [0, 1, 2]
    for logical_id in (
        "NatGatewayA",
        "NatGatewayAElasticIp",
        "PrivateDefaultRouteA",
        "PrivateDefaultRouteB",
    ):
        assert NESTED["Resources"][logical_id]["Condition"] == "HasNatGateway", logical_id


def _acl_entries(egress: bool) -> set[tuple[str, int, int]]:
    entries = set()
    for r in NESTED["Resources"].values():
        if r["Type"] != "AWS::EC2::NetworkAclEntry" or r["Properties"]["Egress"] is not egress:
            continue
        props = r["Properties"]
        assert props["RuleAction"] == "allow"
        assert props["Protocol"] == 6
        cidr = props["CidrBlock"] if isinstance(props["CidrBlock"], str) else "vpc"
        ports = props["PortRange"]
        low = ports["From"] if isinstance(ports["From"], int) else "container"
        entries.add((cidr, low, ports["To"] if isinstance(ports["To"], int) else "container"))
    return entries


def test_private_subnets_network_acl_admits_only_what_the_security_groups_need() -> None:
    associated = {
        r["Properties"]["SubnetId"]["Ref"]
        for r in NESTED["Resources"].values()
        if r["Type"] == "AWS::EC2::SubnetNetworkAclAssociation"
    }
    assert associated == {"PrivateSubnetA", "PrivateSubnetB"}
    assert _acl_entries(egress=False) == {
        ("vpc", "container", "container"),
        ("vpc", 5432, 5432),
        ("vpc", 6379, 6379),
        ("vpc", 443, 443),
        # From outside the VPC, replies only (Linux ephemeral ports).
        ("0.0.0.0/0", 32768, 65535),
    }
    assert _acl_entries(egress=True) == {
        ("0.0.0.0/0", 443, 443),
        ("vpc", 5432, 5432),
        ("vpc", 6379, 6379),
        ("vpc", 1024, 65535),
    }


# ---------------------------------------------------------------- checkov


def _skips(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in node.get("Resources", {}).items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            yield f"{where}:{logical_id}", skip


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_checkov_skip_names_a_check_and_says_why(name: str) -> None:
    for where, skip in _skips(TEMPLATES[name], name):
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), where
        assert len(skip.get("comment", "")) > 30, f"{where} skips {skip['id']} without a reason"


def test_checkov_runs_offline_from_its_own_pinned_virtualenv() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "lint: install" in makefile
    assert re.search(r"^\t\$\(MAKE\) .*\bcheckov\b", makefile, re.M)
    gate = (ROOT / "tools" / "checkov_gate.py").read_text()
    assert '"--skip-download"' in gate
    pins = (ROOT / "requirements-checkov.txt").read_text()
    assert re.search(r"^checkov==\d+\.\d+\.\d+$", pins, re.M)
    assert ".venv-checkov/" in Path(ROOT / ".gitignore").read_text()
