"""The delivery pipeline (pipeline/template.yaml) and the profiles and buildspecs it relies on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from typing import Any

import pytest
import yaml
from samtranslator.yaml_helper import yaml_parse

from devstack.template import ROOT
from pipeline.samconfig_ci import ci_profile, main

pytestmark = pytest.mark.template

PIPELINE_PATH = ROOT / "pipeline" / "template.yaml"
PIPELINE: dict[str, Any] = yaml_parse(PIPELINE_PATH.read_text())
RESOURCES: dict[str, Any] = PIPELINE["Resources"]
SAMCONFIG: dict[str, Any] = tomllib.loads((ROOT / "samconfig.toml").read_text())
STAGES = RESOURCES["Pipeline"]["Properties"]["Stages"]


def _stage(name: str) -> dict[str, Any]:
    return next(stage for stage in STAGES if stage["Name"] == name)


def _env(action: dict[str, Any]) -> dict[str, str]:
    raw = action["Configuration"].get("EnvironmentVariables", "[]")
    text = raw["Fn::Sub"] if isinstance(raw, dict) else raw
    for name, param in PIPELINE["Parameters"].items():
        text = text.replace("${" + name + "}", str(param.get("Default", "")))
    return {item["name"]: item["value"] for item in json.loads(text)}


def test_stages_go_source_build_staging_approval_production() -> None:
    assert [s["Name"] for s in STAGES] == [
        "Source",
        "Build",
        "Staging",
        "Approval",
        "Production",
    ]
    (source,) = _stage("Source")["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    (approval,) = _stage("Approval")["Actions"]
    assert approval["ActionTypeId"] == {
        "Category": "Approval",
        "Owner": "AWS",
        "Provider": "Manual",
        "Version": "1",
    }


def test_the_image_and_package_are_built_only_after_the_tests_pass() -> None:
    actions = {a["Name"]: a for a in _stage("Build")["Actions"]}
    assert actions["Test"]["RunOrder"] < actions["WebImage"]["RunOrder"]
    assert actions["Test"]["RunOrder"] < actions["Package"]["RunOrder"]
    assert _env(actions["WebImage"])["IMAGE_TAG"] == "#{SourceVariables.CommitId}"


@pytest.mark.parametrize(
    ("stage", "parameter"), [("Staging", "StagingConfigEnv"), ("Production", "ProductionConfigEnv")]
)
def test_each_deploy_stage_uses_a_samconfig_profile_with_its_stack(
    stage: str, parameter: str
) -> None:
    (action,) = _stage(stage)["Actions"]
    env = _env(action)
    profile = env["SAM_CONFIG_ENV"]
    assert profile == PIPELINE["Parameters"][parameter]["Default"]
    assert profile in SAMCONFIG, f"samconfig.toml has no {profile} profile"
    stack_parameter = "StagingStackName" if stage == "Staging" else "ProductionStackName"
    stack_name = SAMCONFIG[profile]["global"]["parameters"]["stack_name"]
    assert stack_name == PIPELINE["Parameters"][stack_parameter]["Default"]
    assert env["IMAGE_TAG"] == "#{SourceVariables.CommitId}"
    assert action["InputArtifacts"] == [{"Name": "Packaged"}]


def test_staging_profile_deploys_the_staging_stage() -> None:
    overrides = SAMCONFIG["staging"]["deploy"]["parameters"]["parameter_overrides"]
    assert "Stage=staging" in overrides.split()


@pytest.mark.parametrize(
    "project", [k for k, v in RESOURCES.items() if v["Type"] == "AWS::CodeBuild::Project"]
)
def test_every_project_runs_a_buildspec_of_the_repository(project: str) -> None:
    buildspec = ROOT / RESOURCES[project]["Properties"]["Source"]["BuildSpec"]
    assert buildspec.exists(), buildspec
    spec = yaml.safe_load(buildspec.read_text())
    assert spec["version"] == 0.2
    assert spec["phases"]["build"]["commands"]
    group = RESOURCES[project]["Properties"]["LogsConfig"]["CloudWatchLogs"]["GroupName"]
    assert RESOURCES[group["Ref"]]["Properties"]["RetentionInDays"]


def test_the_package_artifact_carries_what_the_deploy_buildspec_reads() -> None:
    package = yaml.safe_load((ROOT / "pipeline" / "buildspec-package.yml").read_text())
    deploy = (ROOT / "pipeline" / "buildspec-deploy.yml").read_text()
    files = package["artifacts"]["files"]
    for name in files:
        assert name == "packaged.yaml" or name == "python-runtime.txt" or (ROOT / name).exists()
    for read in (
        "packaged.yaml",
        "python-runtime.txt",
        "samconfig.toml",
        "pipeline/samconfig_ci.py",
    ):
        assert read in deploy, read
        assert read in files, read


def test_the_test_action_runs_what_ci_runs() -> None:
    spec = yaml.safe_load((ROOT / "pipeline" / "buildspec-test.yml").read_text())
    assert spec["phases"]["build"]["commands"] == [".ci/run"]


def test_cloudformation_may_manage_only_roles_named_after_the_two_stacks() -> None:
    statements = RESOURCES["CloudFormationRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if any(a.startswith("iam:") for a in actions):
            assert statement["Resource"] != "*"
            assert not any(a in ("iam:*", "*") for a in actions)
        assert "*" not in actions


# ---------------------------------------------------------------- samconfig_ci


def test_ci_profile_keeps_the_profile_and_drops_what_needs_a_person() -> None:
    deploy = ci_profile(
        SAMCONFIG,
        "prod",
        s3_bucket="artifacts",
        s3_prefix="deploy/prod",
        role_arn="arn:aws:iam::123456789012:role/cfn",
        overrides=[
            "WebContainerImageUri=1.dkr.ecr.eu-west-1.amazonaws.com/web:abc123",
            "Stage=prod",
        ],
    )
    assert deploy["stack_name"] == "gatepass-prod"
    assert deploy["capabilities"] == SAMCONFIG["prod"]["deploy"]["parameters"]["capabilities"]
    assert "resolve_s3" not in deploy
    assert deploy["confirm_changeset"] is False
    assert deploy["s3_bucket"] == "artifacts"
    pairs = deploy["parameter_overrides"].split()
    assert "LogRetentionDays=365" in pairs
    assert "WebContainerImageUri=1.dkr.ecr.eu-west-1.amazonaws.com/web:abc123" in pairs
    assert pairs.count("Stage=prod") == 1


def test_ci_profile_refuses_an_unknown_profile() -> None:
    with pytest.raises(KeyError, match="no profile"):
        ci_profile(SAMCONFIG, "nope", s3_bucket="b", s3_prefix="p", role_arn="r", overrides=[])


def test_ci_profile_refuses_an_override_without_a_value() -> None:
    with pytest.raises(ValueError, match="Name=Value"):
        ci_profile(
            SAMCONFIG, "staging", s3_bucket="b", s3_prefix="p", role_arn="r", overrides=["Stage"]
        )


def test_the_written_profile_is_one_the_sam_cli_reads(tmp_path: Any, capsys: Any) -> None:
    """What the script prints parses as TOML, and the SAM CLI's own config reader takes it."""
    from samcli.lib.config.samconfig import SamConfig

    assert (
        main(
            [
                str(ROOT / "samconfig.toml"),
                "staging",
                "--s3-bucket",
                "b",
                "--role-arn",
                "r",
                "--override",
                "AlarmEmail=ops@example.com",
            ]
        )
        == 0
    )
    written = capsys.readouterr().out
    (tmp_path / "samconfig.toml").write_text(written)
    parsed = SamConfig(str(tmp_path)).get_all(["deploy"], "parameters", env="staging")
    assert parsed["stack_name"] == "gatepass-staging"
    assert parsed["confirm_changeset"] is False
    assert "AlarmEmail=ops@example.com" in parsed["parameter_overrides"].split()
    assert re.search(r"\bStage=staging\b", parsed["parameter_overrides"])


def test_the_script_runs_as_the_buildspec_runs_it() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "pipeline/samconfig_ci.py",
            "samconfig.toml",
            "prod",
            "--s3-bucket",
            "b",
            "--role-arn",
            "r",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert tomllib.loads(result.stdout)["prod"]["deploy"]["parameters"]["role_arn"] == "r"
