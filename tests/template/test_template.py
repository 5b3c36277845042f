"""Contracts between template.yaml, the code, the events/ files, the tests and the docs."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from devstack.template import ROOT, TemplateModel

pytestmark = pytest.mark.template

MODEL = TemplateModel()
TESTS = ROOT / "tests"
LAYER = ROOT / "layers"
STDLIB = set(sys.stdlib_module_names)
# Import name -> distribution name, where they differ.
DISTRIBUTIONS = {
    "PIL": "pillow",
    "aws_lambda_powertools": "aws-lambda-powertools",
    "aws_xray_sdk": "aws-xray-sdk",
    "dateutil": "python-dateutil",
    "jwt": "pyjwt",
    "psycopg": "psycopg",
    "yaml": "pyyaml",
}


def _requirements(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def _imports(path: Path) -> set[str]:
    """Dotted names a module imports; ``from a import b`` yields both ``a`` and ``a.b``."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _gatepass_file(dotted: str) -> Path | None:
    module = LAYER.joinpath(*dotted.split("."))
    for candidate in (module.with_suffix(".py"), module / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _third_party_closure(entry: Path) -> set[str]:
    """Top-level third-party packages a module needs, following gatepass imports."""
    seen: set[Path] = set()
    pending = [entry]
    third_party: set[str] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "gatepass":
                found = _gatepass_file(name)
                if found:
                    pending.append(found)
            elif top not in STDLIB and top != "functions":
                third_party.add(top)
    return third_party


FUNCTIONS = sorted(MODEL.functions)
# Imported only when present: the AWS Distro for OpenTelemetry layer (OpenTelemetryLayerArn).
FROM_OPTIONAL_LAYERS = {"opentelemetry"}
# Provided by the Lambda runtime (python3.12 and later) and imported only when present:
# SnapStart's runtime hooks (gatepass.snapstart).
FROM_THE_RUNTIME = {"snapshot_restore_py"}


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_function_handler_imports_and_is_callable(logical_id: str) -> None:
    props = MODEL.functions[logical_id]["Properties"]
    module_name, handler_name = props["Handler"].rsplit(".", 1)
    package = ".".join(Path(props["CodeUri"]).parts)
    module = importlib.import_module(f"{package}.{module_name}")
    assert callable(getattr(module, handler_name))


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_function_lists_what_it_imports(logical_id: str) -> None:
    """sam build installs only the function's requirements.txt and the layer's: a missing pin
    would deploy a function that fails at import."""
    code_dir = MODEL.function_dir(logical_id)
    requirements = code_dir / "requirements.txt"
    assert requirements.exists(), f"{code_dir} has no requirements.txt"
    available = _requirements(requirements) | _requirements(LAYER / "requirements.txt")
    needed = {
        DISTRIBUTIONS.get(name, name).lower().replace("_", "-")
        for name in _third_party_closure(code_dir / "app.py")
        - FROM_OPTIONAL_LAYERS
        - FROM_THE_RUNTIME
    }
    assert needed <= available, f"{logical_id} imports {sorted(needed - available)} unlisted"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_requirement_is_pinned(logical_id: str) -> None:
    for line in (MODEL.function_dir(logical_id) / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert "==" in line, f"{logical_id}: {line} is not pinned"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_function_has_a_log_group_with_retention(logical_id: str) -> None:
    groups = MODEL.of_type("AWS::Logs::LogGroup").values()
    names = [
        g["Properties"].get("LogGroupName") for g in groups if "RetentionInDays" in g["Properties"]
    ]
    assert {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"} in names


def _event_files_for(logical_id: str) -> list[Path]:
    stem = MODEL.function_dir(logical_id).name.replace("_", "-")
    return sorted(p for p in (ROOT / "events").glob("*.json") if p.stem.startswith(stem))


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_function_has_a_sample_event(logical_id: str) -> None:
    assert _event_files_for(logical_id), f"no events/ file for {logical_id}"


def _test_sources() -> str:
    return "\n".join(p.read_text() for p in TESTS.rglob("test_*.py"))


def test_every_sample_event_is_run_by_a_test() -> None:
    sources = _test_sources()
    unused = [p.name for p in (ROOT / "events").glob("*.json") if f'"{p.name}"' not in sources]
    assert not unused, f"events/ files no test loads: {unused}"


@pytest.mark.parametrize("route", MODEL.api_routes(), ids=lambda r: f"{r.method} {r.path}")
def test_every_route_has_a_test(route) -> None:
    integration = "\n".join(p.read_text() for p in (TESTS / "integration").rglob("test_*.py"))
    assert f'"{route.path}"' in integration or f"'{route.path}'" in integration, (
        f"no integration test calls {route.method} {route.path}"
    )


def test_documented_routes_match_the_template() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    documented = set(re.findall(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`", text, re.M))
    declared = {(r.method, r.path) for r in MODEL.api_routes()}
    assert documented == declared


def test_protected_routes_use_the_session_authorizer() -> None:
    public = {
        "/subscribe",
        "/send-otp",
        "/verify-otp",
        "/verify-link",
        "/verify-id-token",
        # Ends the session of the token it is sent, live or not (the function verifies it).
        "/sign-out",
        "/log-activity",
        "/events",
        "/events/{event_id}",
        "/events/{event_id}/revocations",
        "/scanner-bundle-key",
        "/events/{event_id}/keys",
        # The waiting room's draw, published so anyone can check it (docs/decisions/0072).
        "/events/{event_id}/queue",
    }
    for route in MODEL.api_routes():
        assert route.authorized == (route.path not in public), route


def test_every_json_route_validates_its_body_at_the_gateway() -> None:
    models = MODEL.api_models()
    for route in MODEL.api_routes():
        if route.method == "POST":
            assert route.request_model in models, route


def test_runtime_is_a_parameter_defaulting_to_python_313_on_arm64() -> None:
    runtime = MODEL.document["Parameters"]["PythonRuntime"]
    assert runtime["Default"] == "python3.13"
    assert set(runtime["AllowedValues"]) == {"python3.11", "python3.12", "python3.13"}
    function_globals = MODEL.document["Globals"]["Function"]
    assert function_globals["Runtime"] == {"Ref": "PythonRuntime"}
    assert function_globals["Architectures"] == ["arm64"]


def _statements() -> list[tuple[str, dict]]:
    found = []
    for logical_id, resource in MODEL.resources.items():
        for policy in resource.get("Properties", {}).get("Policies", []) or []:
            if isinstance(policy, dict) and "Statement" in policy:
                found.extend((logical_id, s) for s in policy["Statement"])
    return found


# Log delivery for vended logs is account-scoped: AWS documents Resource "*" for these.
ACCOUNT_SCOPED = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


def test_policies_name_their_actions_and_resources() -> None:
    for logical_id, statement in _statements():
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        for action in actions:
            assert action != "*", (logical_id, action)
            assert not action.endswith(":*"), (logical_id, action)
        if statement.get("Resource") == "*":
            assert set(actions) <= ACCOUNT_SCOPED, (logical_id, actions)


@pytest.mark.parametrize("logical_id", sorted(MODEL.of_type("AWS::S3::Bucket")))
def test_buckets_are_private_encrypted_and_tls_only(logical_id: str) -> None:
    props = MODEL.resources[logical_id]["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    policies = [
        p
        for p in MODEL.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    assert len(policies) == 1
    tls = [
        s
        for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Effect") == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in (False, "false")
    ]
    assert tls, f"{logical_id} accepts plain HTTP"


def test_uploads_expire_after_a_day() -> None:
    rules = MODEL.resources["UploadsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(r.get("ExpirationInDays") == 1 and r["Status"] == "Enabled" for r in rules)


@pytest.mark.parametrize("logical_id", ["TicketingTable", "IdentityTable", "ActivityTable"])
def test_domain_tables_stream_recover_and_encrypt(logical_id: str) -> None:
    props = MODEL.resources[logical_id]["Properties"]
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_expiring_data_has_ttl() -> None:
    for logical_id in ("IdentityTable", "ActivityTable", "IdempotencyTable"):
        assert MODEL.resources[logical_id]["Properties"]["TimeToLiveSpecification"]["Enabled"]


def test_topic_is_encrypted_and_secrets_are_generated_not_stored() -> None:
    assert "KmsMasterKeyId" in MODEL.resources["MailTopic"]["Properties"]
    for secret in MODEL.of_type("AWS::SecretsManager::Secret").values():
        value = secret["Properties"].get("SecretString")
        if value is None:
            assert "GenerateSecretString" in secret["Properties"]
        else:
            # Only a value another resource generates (Cognito's client secret), never a literal.
            assert set(value) == {"Fn::GetAtt"}


def test_samconfig_has_default_and_prod_profiles() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert {"default", "prod"} <= set(config)
    assert "CAPABILITY_AUTO_EXPAND" in config["prod"]["deploy"]["parameters"]["capabilities"]


def _templates() -> list[str]:
    return [
        str(p)
        for p in (
            ROOT / "template.yaml",
            ROOT / "container" / "template.yaml",
            ROOT / "pipeline" / "template.yaml",
        )
        if p.exists()
    ]


def test_cfn_lint_with_serverless_rules_passes() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--append-rules",
            "cfn_lint_serverless.rules",
            "--",
            *_templates(),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes() -> None:
    sam = Path(sys.executable).with_name("sam")
    result = subprocess.run(
        [str(sam), "validate", "--lint"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={
            "SAM_CLI_TELEMETRY": "0",
            "PATH": str(sam.parent),
            "HOME": str(Path.home()),
            "AWS_DEFAULT_REGION": "us-east-1",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _function_statements(logical_id: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for policy in MODEL.functions[logical_id]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            found.extend(policy["Statement"])
    return found


def test_only_the_function_that_mints_sessions_may_sign_them() -> None:
    key = MODEL.resources["SessionSigningKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    signers = {
        logical_id
        for logical_id in MODEL.functions
        for statement in _function_statements(logical_id)
        if "kms:Sign" in str(statement.get("Action"))
    }
    assert signers == {"VerifyOtpFunction", "VerifyIdTokenFunction"}
    readers = {
        logical_id
        for logical_id in MODEL.functions
        for statement in _function_statements(logical_id)
        if statement.get("Action") == "kms:GetPublicKey"
    }
    assert {"AuthorizerFunction", "LogActivityFunction"} <= readers
    for logical_id in ("AuthorizerFunction", "LogActivityFunction"):
        assert "SESSION_KEY_SECRET_ARN" not in MODEL.function_env(logical_id)


def test_sign_in_codes_live_at_most_ten_minutes() -> None:
    assert int(MODEL.document["Parameters"]["SignInCodeLifetimeSeconds"]["MaxValue"]) <= 600


def test_the_authorizer_answer_is_cached_at_most_a_minute() -> None:
    api = MODEL.resources["GatepassApi"]["Properties"]["Auth"]
    authorizer = api["Authorizers"][api["DefaultAuthorizer"]]
    assert 0 < int(authorizer["Identity"]["ReauthorizeEvery"]) <= 60


def _api_invoked_functions() -> set[str]:
    return {
        logical_id
        for logical_id, resource in MODEL.of_type("AWS::Serverless::Function").items()
        if any(
            event.get("Type") == "Api"
            for event in (resource["Properties"].get("Events") or {}).values()
        )
    }


def test_snapstart_is_a_parameter_off_by_default_and_only_on_python_312_or_later() -> None:
    document = MODEL.document
    parameter = document["Parameters"]["EnableSnapStart"]
    assert parameter["Default"] == "false"
    assert set(parameter["AllowedValues"]) == {"true", "false"}
    condition = document["Conditions"]["WithSnapStart"]["Fn::And"]
    assert {"Fn::Equals": [{"Ref": "EnableSnapStart"}, "true"]} in condition
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "PythonRuntime"}, "python3.11"]}]} in condition
    rule = document["Rules"]["SnapStartNeedsPython312"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "EnableSnapStart"}, "true"]}
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "PythonRuntime"}, "python3.11"]}]
    }


def test_snapstart_functions_are_invoked_through_their_published_alias() -> None:
    # SnapStart restores published versions only; SAM points a function's Api events at the
    # alias AutoPublishAlias makes, and the authorizer is named by its alias.
    functions = MODEL.of_type("AWS::Serverless::Function")
    snapstart = {
        logical_id
        for logical_id, resource in functions.items()
        if "SnapStart" in resource["Properties"]
    }
    assert snapstart == _api_invoked_functions() | {"AuthorizerFunction"}
    for logical_id in snapstart:
        properties = functions[logical_id]["Properties"]
        assert properties["AutoPublishAlias"] == "live", logical_id
        assert properties["SnapStart"] == {
            "ApplyOn": {"Fn::If": ["WithSnapStart", "PublishedVersions", "None"]}
        }, logical_id
    api = MODEL.resources["GatepassApi"]["Properties"]["Auth"]
    authorizer = api["Authorizers"][api["DefaultAuthorizer"]]
    assert authorizer["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}
